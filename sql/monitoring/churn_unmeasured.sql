-- churn when there is no previous published version to compare with (a first publish, or its version no longer
-- kept): null, and why.
insert into monitoring_measured
select 5 as position, 'churn' as metric, null::double as value, $note::varchar as note
