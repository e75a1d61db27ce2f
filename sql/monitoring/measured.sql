-- Tonight's measurements, one row per metric, before thresholds are applied (sql/monitoring/record.sql).
create or replace temp table monitoring_measured (
    position  integer not null,   -- the metric's place in the report
    metric    varchar not null,
    value     double,
    note      varchar
)
