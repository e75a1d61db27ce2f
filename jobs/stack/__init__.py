"""The Celery stack on one machine, without containers: ``make airflow-celery`` (``python -m jobs.stack``).

Debian's PostgreSQL and Redis run as local processes (data under the stack's state folder, listening on 127.0.0.1
only), and Airflow's services as the Compose file names them: API server, scheduler, DAG processor, triggerer, and
two Celery workers, one on the ``default`` queue and one on ``default`` and the training queue. Both workers share
``outputs/`` and ``landing/`` (RECS_HOME) as the README's scale-out section prescribes, each with its own temporary
folder. The Airflow settings come from ``airflow.env``, the file docker-compose.yml reads too.

- ``envfile``: reads airflow.env;
- ``services``: PostgreSQL and Redis;
- ``airflow``: the Airflow processes and their environment;
- ``api``: a small client of Airflow's REST API (token, trigger, wait, task instances);
- ``hostname``: the task-instance hostname of each worker (both run on one host).
"""
