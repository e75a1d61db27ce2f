-- How many interactions, users and items the frozen snapshot holds (for the runs table and the log).
select
    (select count(*) from snapshot_interactions) as interactions,
    (select count(*) from snapshot_users) as users,
    (select count(*) from snapshot_items) as items
