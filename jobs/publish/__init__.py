"""Publishing: build and check the release aside (``release``), make it current atomically and roll back
(``swap``), and write the run's report (``report``)."""
