-- Tonight's measurements against the thresholds of [monitoring] (recs.toml), into the warehouse's run_monitoring.
insert into run_monitoring by name
with measured as (
    select * from monitoring_measured
),

thresholds as (
    select * from (values
        ('psi_rating',     $max_psi::double,            'max'),
        ('new_user_share', $max_new_user_share::double, 'max'),
        ('new_item_share', $max_new_item_share::double, 'max'),
        ('churn',          $max_churn::double,          'max'),
        ('gini',           $max_gini::double,           'max'),
        ('coverage',       $min_coverage::double,       'min'),
        ('fallback_share', $max_fallback_share::double, 'max')
    ) as t (metric, threshold, direction)
),

final as (
    select
        $run_id::varchar as run_id,
        measured.metric,
        measured.value,
        thresholds.threshold,
        coalesce(case thresholds.direction
            when 'max' then measured.value > thresholds.threshold
            when 'min' then measured.value < thresholds.threshold
        end, false) as breached,
        thresholds.direction,
        measured.note,
        $measured_at::timestamp as measured_at
    from measured
    left join thresholds using (metric)
    order by measured.position
)

select * from final
