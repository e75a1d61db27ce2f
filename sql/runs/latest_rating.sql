-- When the latest rating in the warehouse was given: a run without an orchestrator's interval cuts off after its day.
select max(rated_at) as latest_rated_at from ratings
