-- Rows of one published table (GET /health).
select count(*) from {{ table }}
