"""The Recommendations view in Airflow (``app``, mounted by ``plugins/recs_plugin.py``) and the HTML run report
(``report``): tables and server-drawn SVG plots (``html``, ``svg``) of what ``data`` reads from a published version."""
