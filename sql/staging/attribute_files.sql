-- Files ingested under a provisional run id (recs run, before the data name the run) belong to the run.
update ingested_files set run_id = $run_id where run_id = $provisional
