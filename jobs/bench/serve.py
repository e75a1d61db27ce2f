"""``make bench-serve``: ``recs serve`` under load, steady and while versions are published.

A fresh home (``--work``/serve-home) gets the seeded sample (``jobs.sample.data.write_sample``: ``--users``
users, 1,000 items, 60 ratings a user) and one night (``run_nightly``, the default config's candidates and
placements, ``keep_versions`` raised so every version of the benchmark stays on disk for the check). Then a real
``recs serve`` process (uvicorn, bearer token) on a free localhost port and the load generator in its own process
(``jobs.bench.serve_load``: 16 keep-alive connections, closed loop, ``/recommendations/<random known user>?top=10``):

1. steady: ``--duration`` seconds measured after 1 s of warm-up;
2. publishing: the same load while another process publishes ``--publishes`` new versions back to back
   (``run_nightly`` with new run ids, ``force_publish``, the diversity changing from run to run so that each
   version's lists differ), until the last is published.

Every answer's ``run_id`` must be a published run and its body well formed; every tenth answer's items are
compared with that run's list in its kept version (``outputs/versions/``): an answer whose items are not its
run's list is a mixed-version answer. The section goes to ``--out`` between ``<!-- serve:start -->`` and
``<!-- serve:end -->``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import secrets
import shutil
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jobs.bench.page import machine_text, write_section
from jobs.config import DEFAULT_CONFIG, PROJECT_ROOT, load_settings
from jobs.records import run_key
from jobs.serving import open_published

log = logging.getLogger("recs.bench_serve")

START, END = "<!-- serve:start -->", "<!-- serve:end -->"
COMMAND = "python -m jobs.bench.serve --out docs/benchmarks.md"
RECS = str(Path(sys.executable).parent / "recs")
TARGETS = {"requests_per_s": 2000, "p99_ms": 25}


def make_home(work: Path, users: int, keep_versions: int) -> tuple[Path, Path]:
    """A fresh home with the sample published once; returns (home, its config file)."""
    from jobs.sample.data import write_sample
    from jobs.steps import run_nightly

    home = work / "serve-home"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    config = home / "recs.toml"
    text = DEFAULT_CONFIG.read_text()
    config.write_text(text.replace("keep_versions = 5 ", f"keep_versions = {keep_versions} ", 1))
    settings = load_settings(home=home, config=config)
    assert settings.publish.keep_versions == keep_versions, "recs.toml's keep_versions line changed"
    write_sample(settings.landing_dir, n_users=users, n_items=1000, n_ratings=60 * users)
    run_nightly(settings, run_id="bench_0")
    return home, config


def publish_versions(home: Path, config: Path, count: int) -> None:
    """``--publish-only``: ``count`` new versions back to back; prints each publish's run id and seconds."""
    from jobs.steps import run_nightly

    settings = load_settings(home=home, config=config)
    for n in range(1, count + 1):
        started = time.perf_counter()
        run_nightly(settings.with_params({"diversity": (n % 5) / 10}), run_id=f"bench_{n}", skip_ingest=True,
                    force_publish=True)
        print(json.dumps({"run_id": f"bench_{n}", "seconds": time.perf_counter() - started}), flush=True)


def _wait_healthy(port: int, token: str, server: subprocess.Popen, timeout: float = 120.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"recs serve exited with {server.returncode}")
        request = urllib.request.Request(f"http://127.0.0.1:{port}/health", headers={"Authorization": f"Bearer {token}"})
        with contextlib.suppress(OSError):
            with urllib.request.urlopen(request, timeout=2) as answer:
                return json.loads(answer.read())
        time.sleep(0.2)
    raise TimeoutError(f"recs serve did not answer /health on port {port} within {timeout:.0f}s")


def _cpu_seconds(pid: int) -> float:
    """A process's user + system CPU time, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _load(work: Path, name: str, port: int, duration: float, stop_file: Path | None = None) -> subprocess.Popen:
    out = work / f"load-{name}.json"
    command = [sys.executable, "-m", "jobs.bench.serve_load", "--port", str(port), "--token-file",
               str(work / "token"), "--users", str(work / "users.txt"), "--connections", "16",
               "--duration", str(duration), "--out", str(out)]
    if stop_file:
        command += ["--stop-file", str(stop_file)]
    return subprocess.Popen(command, cwd=PROJECT_ROOT)


def check_answers(home: Path, result: dict[str, Any], published: set[str]) -> dict[str, int]:
    """Unknown run ids (every answer) and mixed-version answers (the kept sample) against the kept versions."""
    layout = load_settings(home=home, config=home / "recs.toml").layout
    unknown = sum(n for run_id, n in result["run_ids"].items() if run_id not in published)
    by_run: dict[str, list[tuple[str, list[str]]]] = {}
    for run_id, user, items in result["samples"]:
        by_run.setdefault(run_id, []).append((user, items))
    mixed = 0
    for run_id, answers in by_run.items():
        if run_id not in published:
            mixed += len(answers)
            continue
        with contextlib.closing(open_published(layout.version(run_key(run_id)))) as con:
            lists = dict(con.execute("select user_id, list(item_id order by rank)[1:10] from recommendations "
                                     "group by user_id").fetchall())
        mixed += sum(items != lists.get(user) for user, items in answers)
    return {"unknown_run_ids": unknown, "mixed": mixed, "checked": len(result["samples"])}


def run_bench(work: Path, users: int, duration: float, publishes: int) -> dict[str, Any]:
    work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    home, config = make_home(work, users, keep_versions=publishes + 5)
    layout = load_settings(home=home, config=config).layout
    with contextlib.closing(open_published(layout.serving)) as con:
        known = [row[0] for row in con.execute("select distinct user_id from recommendations order by 1").fetchall()]
    (work / "users.txt").write_text("\n".join(known) + "\n")
    token = secrets.token_urlsafe(24)
    (work / "token").write_text(token)
    from jobs.stack.services import free_port

    port = free_port()
    env = {**os.environ, "RECS_HOME": str(home), "RECS_CONFIG": str(config), "RECS_API_TOKEN": token}
    server = subprocess.Popen([RECS, "serve", "--port", str(port)], env=env, cwd=PROJECT_ROOT)
    try:
        health = _wait_healthy(port, token, server)
        cpu = _cpu_seconds(server.pid)
        _load(work, "steady", port, duration).wait()
        steady = json.loads((work / "load-steady.json").read_text())
        steady["server_cpu_s"] = _cpu_seconds(server.pid) - cpu
        stop = work / "publishing.stop"
        stop.unlink(missing_ok=True)
        load = _load(work, "publishing", port, 1800, stop)
        time.sleep(1.5)  # the load's warm-up
        cpu = _cpu_seconds(server.pid)
        publisher = subprocess.run([sys.executable, "-m", "jobs.bench.serve", "--publish-only", str(publishes),
                                    "--work", str(work)], env=env, cwd=PROJECT_ROOT, capture_output=True, text=True)
        time.sleep(1.0)  # answers from the last version too
        stop.touch()
        load.wait()
        if publisher.returncode:
            raise RuntimeError(f"the publishing process failed:\n{publisher.stderr[-3000:]}")
        during = json.loads((work / "load-publishing.json").read_text())
        during["server_cpu_s"] = _cpu_seconds(server.pid) - cpu
        runs = [json.loads(line) for line in publisher.stdout.splitlines() if line.startswith("{")]
        final = _wait_healthy(port, token, server)
    finally:
        server.terminate()
        server.wait(timeout=30)
    published = {"bench_0", *(r["run_id"] for r in runs)}
    steady |= check_answers(home, steady, published)
    during |= check_answers(home, during, published)
    during["publish_seconds"] = [r["seconds"] for r in runs]
    return {"users": len(known), "health": health, "final_run": final["run_id"], "steady": steady, "during": during,
            "publishes": len(runs), "duration": duration, "total_seconds": time.perf_counter() - started}


def render(bench: dict[str, Any], date: str, machine: str) -> str:
    """The section, markers included."""
    steady, during, health = bench["steady"], bench["during"], bench["health"]

    def row(name: str, r: dict[str, Any]) -> str:
        return (f"| {name} | {r['seconds']:.1f} | {r['requests']:,} | {r['requests_per_s']:,.0f} | {r['p50_ms']:.2f} | "
                f"{r['p99_ms']:.2f} | {r['max_ms']:.1f} | {r['errors']} | {r['unknown_run_ids']} | "
                f"{r['mixed']} of {r['checked']:,} | {len(r['run_ids'])} | "
                f"{r['server_cpu_s'] / r['seconds']:.2f} / {r['client_cpu_s'] / r['seconds']:.2f} |")

    def verdict(ok: bool) -> str:
        return "met" if ok else "**missed**"

    rate, p99 = TARGETS["requests_per_s"], TARGETS["p99_ms"]
    clean = during["errors"] == 0 and during["mixed"] == 0 and during["unknown_run_ids"] == 0
    publish = during["publish_seconds"]
    return "\n".join([
        START,
        "## Serving: `recs serve` under load",
        "",
        f"`make bench-serve` (`{COMMAND}`), run on {date}; {machine}; the server, the load generator and (second "
        f"row) the publishing process share those cores. {bench['total_seconds'] / 60:.1f} min in all.",
        "",
        f"- Data: the seeded sample with {bench['users']:,} users and {health['tables']['items']:,} items, one night "
        f"published (champion {health['champion_model']}): {health['tables']['recommendations']:,} "
        f"`recommendations` rows, {health['tables']['placement_recommendations']:,} `placement_recommendations`.",
        "- Server: `recs serve` (one uvicorn process, uvloop + httptools, no access log), bearer token.",
        "- Load: `jobs.bench.serve_load` in its own process (asyncio on uvloop over raw sockets): 16 HTTP/1.1 "
        "keep-alive connections, each a closed loop, `GET /recommendations/<random known user>?top=10`; latency "
        "from the request written to the last body byte read; 1 s warm-up not counted. Every body is parsed "
        "(run_id, fallback, items). Closed loop: latency is what 16 callers that wait for each answer see.",
        f"- Publishing: another process publishes {bench['publishes']} new versions back to back (`run_nightly`, new "
        f"run ids, `force_publish`, the diversity changing from run to run so versions differ), "
        f"{min(publish):.1f}–{max(publish):.1f} s each under the load; measured until 1 s after the last.",
        "- Errors: non-200 answers, bodies that do not parse, fallbacks for known users, connection failures. "
        "Unknown run: an answer whose run_id is no published run. Mixed: of every tenth answer, those whose items "
        "are not that run's top 10 in its kept version (`outputs/versions/`).",
        "",
        "| phase | s | requests | req/s | p50 ms | p99 ms | max ms | errors | unknown run | mixed | runs seen | "
        "CPU cores server / client |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
        row("steady", steady),
        row(f"{bench['publishes']} publishes", during),
        "",
        f"Targets: ≥ {rate:,} requests/s {verdict(steady['requests_per_s'] >= rate)} (steady), "
        f"{verdict(during['requests_per_s'] >= rate)} (publishing); p99 ≤ {p99} ms "
        f"{verdict(steady['p99_ms'] <= p99)} (steady), {verdict(during['p99_ms'] <= p99)} (publishing); no error, "
        f"unknown run or mixed version during the publishes {verdict(clean)}. The server ended on run "
        f"{bench['final_run']}, the last published.",
        END,
    ])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m jobs.bench.serve", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--work", type=Path, default=PROJECT_ROOT / "outputs" / "bench" / "serve",
                        help="the home and the load's files (never committed)")
    parser.add_argument("--users", type=int, default=5000)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of steady load")
    parser.add_argument("--publishes", type=int, default=20)
    parser.add_argument("--publish-only", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    os.environ.setdefault("TQDM_DISABLE", "1")
    if args.publish_only:
        home = args.work / "serve-home"
        publish_versions(home, home / "recs.toml", args.publish_only)
        return
    bench = run_bench(args.work, args.users, args.duration, args.publishes)
    write_section(args.out, render(bench, datetime.now(UTC).date().isoformat(), machine_text()), START, END)
    for phase in ("steady", "during"):
        print(phase, json.dumps({k: v for k, v in bench[phase].items() if k != "samples"}, default=str))
    print(f"wrote {args.out} ({bench['total_seconds'] / 60:.1f} min)")


if __name__ == "__main__":
    main()
