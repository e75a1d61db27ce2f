"""PostgreSQL and Redis for the native Celery stack: Debian's packages, run as plain processes on 127.0.0.1.

Their data live under the stack's state folder. PostgreSQL refuses to run as root, so under root its commands run
as the ``postgres`` user the Debian package creates (its folder is handed to that user).
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

#: Debian packages that provide the two servers.
PACKAGES = ("postgresql", "redis-server")
#: The metadata database's account, as in docker-compose.yml's postgres service.
DB_USER = DB_PASSWORD = DB_NAME = "airflow"


class StackError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise StackError(f"{what} is not listening on 127.0.0.1:{port} after {timeout:.0f} s")


def _postgres_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parts[4]))
    if found:
        return Path(found[-1]).parent
    pg_ctl = shutil.which("pg_ctl")
    return Path(pg_ctl).resolve().parent if pg_ctl else None


def ensure_packages() -> None:
    """Install postgresql and redis-server with apt-get when they are missing (as root); else say what to do."""
    if _postgres_bin() and shutil.which("redis-server"):
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise StackError(f"PostgreSQL and Redis are needed: install the Debian packages {' '.join(PACKAGES)}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", *PACKAGES]):
        done = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if done.returncode != 0 and cmd[1] == "install":
            raise StackError(f"apt-get could not install {' '.join(PACKAGES)}: {done.stderr.strip()[-500:]}")
    if not (_postgres_bin() and shutil.which("redis-server")):
        raise StackError(f"apt-get installed {' '.join(PACKAGES)} but pg_ctl or redis-server is still not found")


@dataclass(frozen=True)
class Postgres:
    folder: Path
    port: int

    @property
    def data(self) -> Path:
        return self.folder / "data"

    @property
    def url(self) -> str:
        return f"postgresql+psycopg2://{DB_USER}:{DB_PASSWORD}@127.0.0.1:{self.port}/{DB_NAME}"

    def _run(self, *args: str) -> subprocess.CompletedProcess:
        bin_dir = _postgres_bin()
        if bin_dir is None:
            raise StackError("pg_ctl not found: install the Debian package postgresql")
        cmd = [str(bin_dir / args[0]), *args[1:]]
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, capture_output=True, text=True)

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
        if not (self.data / "PG_VERSION").exists():
            password_file = self.folder / "password"
            password_file.write_text(DB_PASSWORD + "\n")
            if os.geteuid() == 0:
                shutil.chown(password_file, "postgres", "postgres")
            done = self._run("initdb", "-D", str(self.data), "-U", DB_USER, f"--pwfile={password_file}",
                             "--auth=scram-sha-256", "-E", "UTF8", "--no-instructions")
            password_file.unlink()
            if done.returncode != 0:
                raise StackError(f"initdb failed: {done.stderr.strip()[-800:]}")
        # TCP on loopback only; the Unix socket inside the stack's folder, not /var/run/postgresql.
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -c unix_socket_directories={self.folder}"
        done = self._run("pg_ctl", "-D", str(self.data), "-l", str(self.folder / "postgres.log"), "-o", options,
                         "-w", "-t", "60", "start")
        if done.returncode != 0:
            raise StackError(f"PostgreSQL did not start: {done.stdout.strip()[-400:]} {done.stderr.strip()[-400:]}"
                             f" (log: {self.folder / 'postgres.log'})")
        self._create_database()

    def _create_database(self) -> None:
        import psycopg2

        con = psycopg2.connect(host="127.0.0.1", port=self.port, user=DB_USER, password=DB_PASSWORD, dbname="postgres")
        con.autocommit = True
        try:
            with con.cursor() as cur:
                cur.execute("select 1 from pg_database where datname = %s", (DB_NAME,))
                if cur.fetchone() is None:
                    cur.execute(f'create database "{DB_NAME}"')
        finally:
            con.close()

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "60", "stop")


@dataclass(frozen=True)
class Redis:
    folder: Path
    port: int

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def pid_file(self) -> Path:
        return self.folder / "redis.pid"

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        # A broker, not a store: no snapshots, no append-only file; loopback only.
        done = subprocess.run(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--protected-mode", "yes",
             "--dir", str(self.folder), "--save", "", "--appendonly", "no", "--daemonize", "yes",
             "--pidfile", str(self.pid_file), "--logfile", str(self.folder / "redis.log")],
            capture_output=True, text=True)
        if done.returncode != 0:
            raise StackError(f"redis-server did not start: {done.stderr.strip()[-400:]}")
        wait_for_port(self.port, "Redis")

    def stop(self) -> None:
        if self.pid_file.exists():
            subprocess.run(["redis-cli", "-p", str(self.port), "shutdown", "nosave"], capture_output=True)
