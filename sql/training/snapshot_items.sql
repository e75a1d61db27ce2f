-- The snapshot's items file: column number -> item id and metadata.
select * from snapshot_items order by item_index
