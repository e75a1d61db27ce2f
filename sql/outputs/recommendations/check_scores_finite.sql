-- Scores are real numbers and ids are present.
with final as (
    select *
    from release.recommendations
    where score is null or isnan(score) or isinf(score) or user_id is null or item_id is null
)

select * from final
