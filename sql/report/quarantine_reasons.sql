-- The report's quarantine section: rows quarantined from the files this run ingested, by reason and column.
select reason, coalesce(column_name, '') as column_name, n_rows
from quarantine_reasons
where run_id = $run_id
order by n_rows desc, reason, column_name
