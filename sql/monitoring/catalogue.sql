-- gini: the Gini coefficient of how often each item of the snapshot's catalogue appears in tonight's lists of
-- the default placement (items never recommended count as 0): 0 = every item equally often, near 1 = a few
-- items take every slot. coverage: distinct items recommended / items in the catalogue.
insert into monitoring_measured
with catalogue as (
    select item_id from read_parquet({{ items_path }})
),

recommended as (
    select item_id, count(*) as n from release.recommendations group by item_id
),

counts as (
    select all_items.item_id, coalesce(recommended.n, 0) as n
    from (select item_id from catalogue union select item_id from recommended) as all_items
    left join recommended using (item_id)
),

ranked as (
    select n, row_number() over (order by n) as i, count(*) over () as n_items, sum(n) over () as total
    from counts
),

measured as (
    select
        case when max(total) > 0 then sum((2 * i - n_items - 1) * n) / (max(n_items) * max(total)) end as gini,
        max(n_items) as n_items
    from ranked
),

covered as (
    select
        (select count(*) from recommended semi join catalogue using (item_id)) as n_recommended,
        (select count(*) from catalogue) as n_catalogue
),

final as (
    select
        6 as position,
        'gini' as metric,
        measured.gini::double as value,
        'over ' || coalesce(measured.n_items, 0) || ' items' as note
    from measured
    union all
    select
        7,
        'coverage',
        case when n_catalogue > 0 then n_recommended / n_catalogue end,
        n_recommended || ' of ' || n_catalogue || ' catalogue items recommended'
    from covered
)

select * from final
