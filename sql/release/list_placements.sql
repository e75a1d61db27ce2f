-- The placements tonight configures (placements) and those the published lists hold, each with an integer key:
-- the checks that group or join every list row carry the key (published_list_keys), not the name.
create or replace temp table list_placements as
with named as (
    select 'default' as placement
    union
    select placement from placements
    union
    select distinct placement from release.placement_recommendations where placement is not null
),

final as (
    select placement, (row_number() over (order by placement))::integer as placement_key from named
)

select * from final
