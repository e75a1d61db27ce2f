-- Catalogue coverage must not collapse against the version published now: far fewer distinct items
-- recommended is the mark of a broken model or a broken day of data. Skipped on the first publish and
-- when the operator forces the publish.
with tonight as (
    select count(distinct item_id) as n_items_recommended from release.recommendations
),

published as (
    select count(distinct item_id) as n_items_recommended from previous.recommendations
),

final as (
    select tonight.n_items_recommended as tonight, published.n_items_recommended as published
    from tonight
    cross join published
    where tonight.n_items_recommended < published.n_items_recommended * (1 - $max_coverage_drop)
)

select * from final
