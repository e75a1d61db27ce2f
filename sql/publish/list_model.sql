-- The model that scored tonight's lists.
select min(model) from release.recommendations
