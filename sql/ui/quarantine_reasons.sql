-- Rows quarantined per run, reason and column (published by the monitoring step).
select run_id, reason, column_name, n_rows
from quarantine_reasons
order by run_id, n_rows desc, reason, column_name
