-- One table of a published version to a Parquet file (written to a temporary name, then renamed).
copy release.{{ table }} to {{ path }} (format parquet, compression zstd)
