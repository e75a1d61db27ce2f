-- One of the snapshot's files as a table of the rules connection (read before external access is switched off).
create table {{ table }} as select * from read_parquet({{ path }})
