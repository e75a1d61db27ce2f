-- Scores are real numbers and ids are present, in every placement.
with final as (
    select *
    from published_lists
    where score is null or isnan(score) or isinf(score) or user_id is null or item_id is null or promoted is null
)

select * from final
