-- Rows of one table of the release being built.
select count(*) as n_rows from release.{{ table }}
