-- A run's monitoring rows in the report's order (for the task log's warnings).
select metric, value, threshold, breached, direction, note
from run_monitoring
where run_id = $run_id
order by list_position(['psi_rating', 'new_ratings', 'new_user_share', 'new_item_share', 'churn', 'gini',
                        'coverage', 'fallback_users', 'fallback_share'], metric), metric
