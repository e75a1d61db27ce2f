-- Every published list, the default placement's and the named ones', as one relation the checks read by id.
create or replace temp view published_lists as
select 'default' as placement, user_id, rank, item_id, score, promoted from release.recommendations
union all
select placement, user_id, rank, item_id, score, promoted from release.placement_recommendations
