-- The report's placements section: per placement, its length, how many items it could show tonight, how many
-- the rules (availability, exclusions for everyone) and its filter removed, the promoted rows placed, and its
-- lists' diversity, novelty and catalogue coverage.
with published as (
    select * from model_metrics where run_id = $run_id and split = 'published'
),

final as (
    select
        placement,
        any_value(k) as top_n,
        max(value) filter (where metric = 'lists')::bigint as lists,
        max(value) filter (where metric = 'eligible_items')::bigint as eligible_items,
        max(value) filter (where metric = 'removed_by_rules')::bigint as removed_by_rules,
        max(value) filter (where metric = 'filtered_out')::bigint as filtered_out,
        max(value) filter (where metric = 'promoted_rows')::bigint as promoted_rows,
        max(value) filter (where metric = 'ild') as intra_list_diversity,
        max(value) filter (where metric = 'novelty') as novelty,
        max(value) filter (where metric = 'coverage') as coverage
    from published
    group by placement
)

select * from final order by placement <> 'default', placement
