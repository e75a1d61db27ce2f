-- The report's monitoring section: tonight's drift and run metrics against their thresholds, a crossed one
-- marked **BREACHED** (docs/tables.md, run_monitoring).
with measured as (
    select * from run_monitoring where run_id = $run_id
),

final as (
    select
        metric,
        case
            when value is null then 'n/a'
            when metric in ('new_ratings', 'fallback_users') then printf('%d', value::bigint)
            else printf('%.4f', value)
        end as value,
        case when threshold is null then '' else direction || ' ' || threshold end as threshold,
        case when breached then '**BREACHED**' when threshold is null then '' else 'ok' end as status,
        coalesce(note, '') as note
    from measured
    order by list_position(['psi_rating', 'new_ratings', 'new_user_share', 'new_item_share', 'churn', 'gini',
                            'coverage', 'fallback_users', 'fallback_share'], metric), metric
)

select * from final
