-- A file that ingested (or was found already ingested, unchanged) is no longer set aside.
delete from set_aside_files where file_path = $file_path
