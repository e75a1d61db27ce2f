-- The snapshot's users file: row number -> user id.
select user_index, user_id from snapshot_users order by user_index
