"""Pipeline steps of the batch recommender: plain functions, callable from the CLI, tests and Airflow tasks."""
