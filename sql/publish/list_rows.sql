-- Every row of every list being released, for the diversity and novelty figures (jobs.publish.list_metrics).
select placement, user_id, rank, item_id, promoted from published_lists order by placement, user_id, rank
