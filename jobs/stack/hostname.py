"""The hostname a Celery worker's task instances record (``[core] hostname_callable``).

Both workers of the native stack run on one host, so the default (the host's FQDN) would not tell them apart in
Airflow's records; each worker is given its Celery node name in RECS_WORKER_HOSTNAME instead.
"""

from __future__ import annotations

import os
import socket


def worker_hostname() -> str:
    return os.environ.get("RECS_WORKER_HOSTNAME") or socket.getfqdn()
