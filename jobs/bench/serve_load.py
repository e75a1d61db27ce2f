"""The load generator of ``make bench-serve``: its own process, asyncio on uvloop over raw sockets.

``--connections`` HTTP/1.1 keep-alive connections, each a closed loop (send a request, read the whole response,
send the next): ``GET /recommendations/<random known user>?top=10`` with the bearer token. Per response: the
latency (request written to last body byte read), the status, and the body parsed as JSON (its ``run_id``,
``fallback`` and item ids; a body that does not parse is an error). Every ``--sample-every``-th response is kept
whole (run, user, items) for the caller to compare with that run's published list. Runs ``--duration``
seconds after a ``--warmup`` that is not counted, or until ``--stop-file`` exists. Writes one JSON summary to
``--out``, with its own CPU time, so the reader can see what the client cost the 2 cores.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from collections import Counter
from pathlib import Path
from urllib.parse import quote

import numpy as np


class Load:
    """What the connections share: the counters and the switch that ends the run."""

    def __init__(self, sample_every: int) -> None:
        self.measuring = False
        self.stopped = False
        self.latencies: list[float] = []
        self.errors: Counter[str] = Counter()
        self.run_ids: Counter[str] = Counter()
        self.samples: list[tuple[str, str, list[str]]] = []
        self.sample_every = sample_every
        self.answered = 0

    def record(self, user: str, status: int, body: bytes, seconds: float) -> None:
        if not self.measuring:
            return
        self.latencies.append(seconds)
        if status != 200:
            self.errors[f"http {status}"] += 1
            return
        try:
            answer = json.loads(body)
            run_id, items = answer["run_id"], [item["item_id"] for item in answer["items"]]
        except (ValueError, KeyError, TypeError):
            self.errors["malformed body"] += 1
            return
        if answer.get("fallback") is not False:
            self.errors["fallback for a known user"] += 1
        self.run_ids[run_id] += 1
        self.answered += 1
        if self.answered % self.sample_every == 0:
            self.samples.append((run_id, user, items))


async def _connection(load: Load, host: str, port: int, token: str, users: list[str], seed: int) -> None:
    rng = random.Random(seed)
    paths = {user: f"/recommendations/{quote(user, safe='')}?top=10".encode() for user in users}
    head = b" HTTP/1.1\r\nHost: " + host.encode() + b"\r\nAuthorization: Bearer " + token.encode() + b"\r\n\r\n"
    reader = writer = None
    while not load.stopped:
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection(host, port)
            user = rng.choice(users)
            started = time.perf_counter()
            writer.write(b"GET " + paths[user] + head)
            header = await reader.readuntil(b"\r\n\r\n")
            status = int(header[9:12])
            lower = header.lower()
            at = lower.index(b"content-length:") + 15
            length = int(lower[at:lower.index(b"\r\n", at)])
            body = await reader.readexactly(length)
            load.record(user, status, body, time.perf_counter() - started)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
            if load.measuring:
                load.errors[f"connection: {type(exc).__name__}"] += 1
            if writer is not None:
                writer.close()
            reader = writer = None
            await asyncio.sleep(0.01)
    if writer is not None:
        writer.close()


async def run(host: str, port: int, token: str, users: list[str], connections: int, duration: float,
              warmup: float, stop_file: Path | None, sample_every: int) -> dict:
    load = Load(sample_every)
    tasks = [asyncio.create_task(_connection(load, host, port, token, users, seed)) for seed in range(connections)]
    await asyncio.sleep(warmup)
    load.measuring = True
    cpu, started = time.process_time(), time.perf_counter()
    while time.perf_counter() - started < duration and not (stop_file and stop_file.exists()):
        await asyncio.sleep(0.05)
    load.measuring = False
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    load.stopped = True
    await asyncio.wait(tasks, timeout=5)
    latencies = np.asarray(load.latencies) * 1000 if load.latencies else np.zeros(1)
    return {
        "connections": connections, "seconds": wall, "requests": len(load.latencies),
        "requests_per_s": len(load.latencies) / wall if wall else 0.0,
        "p50_ms": float(np.percentile(latencies, 50)), "p99_ms": float(np.percentile(latencies, 99)),
        "max_ms": float(latencies.max()), "errors": sum(load.errors.values()), "error_kinds": dict(load.errors),
        "run_ids": dict(load.run_ids), "samples": load.samples, "client_cpu_s": cpu,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m jobs.bench.serve_load", description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--token-file", type=Path, required=True, help="a file holding the bearer token")
    parser.add_argument("--users", type=Path, required=True, help="known user ids, one a line")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds measured (the most, with --stop-file)")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds of load before measuring")
    parser.add_argument("--stop-file", type=Path, help="stop measuring as soon as this file exists")
    parser.add_argument("--sample-every", type=int, default=10, help="keep every n-th answer for the item check")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    try:
        import uvloop
    except ImportError:  # plain asyncio: slower, so a heavier client
        uvloop = None
    users = [line for line in args.users.read_text().splitlines() if line]
    main_coroutine = run(args.host, args.port, args.token_file.read_text().strip(), users, args.connections,
                         args.duration, args.warmup, args.stop_file, args.sample_every)
    result = uvloop.run(main_coroutine) if uvloop else asyncio.run(main_coroutine)
    result["event_loop"] = "uvloop" if uvloop else "asyncio"
    args.out.write_text(json.dumps(result))


if __name__ == "__main__":
    main()
