-- The named placements in the published version (recs recommend --placement).
select distinct placement from placement_recommendations order by placement
