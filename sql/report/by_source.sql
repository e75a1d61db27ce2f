-- The report's sources section: how many users each model (the champion, the fallback) served.
select model, count(distinct user_id) as users, count(*) as n_rows
from recommendations
group by model
order by model
