"""``python -m jobs.stack up|down|status`` (``make airflow-celery``): the Celery stack on this machine.

    up [--detach]   start PostgreSQL, Redis and Airflow's services with two Celery workers; without --detach, stay
                    in the foreground and stop everything on Ctrl-C
    down            stop what ``up`` started
    status          what is running, and where to log in
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path

from jobs.config import load_settings
from jobs.stack.airflow import ADMIN_USER, DEFAULT_STATE, StackConfig, down, up
from jobs.stack.services import StackError


def _login(config: StackConfig) -> str:
    return (f"Airflow UI and API: {config.base_url}  (user {ADMIN_USER}, password {config.password()}; "
            f"in {config.password_file})")


def _status(config: StackConfig) -> str:
    from jobs.stack.airflow import _exists

    lines = [f"{name:14} pid {pid:>7}  {'running' if _exists(pid) else 'stopped'}" for name, pid in config.pids.items()]
    return "\n".join(lines or ["nothing running"])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m jobs.stack", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--state", type=Path, default=DEFAULT_STATE, help="the stack's state folder (git-ignored)")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("up", help="start the stack")
    p.add_argument("--detach", action="store_true", help="return once it is up (stop it with `down`)")
    p.add_argument("--port", type=int, default=8080, help="the API server's port on 127.0.0.1")
    p.add_argument("--executor", choices=["celery", "local"], default="celery",
                   help="local: LocalExecutor on the same Postgres, no Redis or workers")
    p.add_argument("--concurrency", type=int, default=2, help="task slots per Celery worker")
    p.add_argument("--home", type=Path, help="the pipeline's RECS_HOME, shared by every worker (default: RECS_HOME, "
                                              "else this checkout)")
    sub.add_parser("down", help="stop the stack")
    sub.add_parser("status", help="what is running")
    args = parser.parse_args(argv)

    try:
        if args.command == "up":
            home = args.home.resolve() if args.home else load_settings().home
            config = up(StackConfig(state=args.state, home=home, api_port=args.port, executor=args.executor,
                                    concurrency=args.concurrency))
            print(_login(config), flush=True)
            if not args.detach:
                _serve_until_interrupted(config)
        elif args.command == "down":
            down(StackConfig.load(args.state))
        else:
            config = StackConfig.load(args.state)
            print(_status(config))
            if config.pids:
                print(_login(config))
    except (StackError, FileNotFoundError) as exc:
        sys.exit(f"error: {exc}")


def _serve_until_interrupted(config: StackConfig) -> None:
    print("Running; Ctrl-C stops the stack.", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        print("Stopping the stack...", flush=True)
        down(config)


if __name__ == "__main__":
    main()
