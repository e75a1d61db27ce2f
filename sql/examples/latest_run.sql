-- The latest published run, with the champion decision that chose its model.
with latest as (
    select * from runs where status = 'published' order by finished_at desc limit 1
),

final as (
    select latest.run_id, latest.logical_date, latest.users, latest.items, latest.champion_model,
           champions.decision, champions.reason
    from latest
    left join champions using (run_id)
)

select * from final
