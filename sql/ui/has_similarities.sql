-- Whether the version holds item-item similarities computed by $method (the champion model).
select count(*) > 0 as has_similarities from similar_items where method = $method
