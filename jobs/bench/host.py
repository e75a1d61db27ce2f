"""``python -m jobs.bench.host``: what this machine's CPU and memory deliver right now, printed beside a benchmark.

Two figures decide most of a night's time on a small VM, and both change from run to run:

* **roof**: the float32 matrix-product rate (``jobs.bench.kernels.matmul_roof``). The Intel host of the earlier
  Scale section reached 357 GFLOP/s on 2 cores, the AMD EPYC host of stop 31 about 150.
* **first touch**: how fast the process gets memory it has not used before. In a Firecracker VM with the
  ``virtio_balloon`` free-page reporting driver, pages the guest frees go back to the host within 1-3 s, and
  the next first touch of each costs a trip to the hypervisor: 0.1 GiB/s instead of 6-9 GiB/s for memory reused
  at once. A night allocates and frees gigabytes, so on such a host it pays seconds per GiB that a machine with
  its own memory does not pay.

The probe touches ``gib`` fresh GiB, frees them, touches them again at once (reused), then again after
``idle_s`` seconds (what a step that starts after a pause gets). No figure here enters a target: they explain
why two runs of the same code differ, so that a table is read against the machine it was measured on.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np


def touch_gib_s(gib: float) -> float:
    """GiB/s of allocating and writing ``gib`` GiB of new memory (numpy ``ones``: every page written once)."""
    started = time.perf_counter()
    block = np.ones(int(gib * (1 << 30)) // 8, dtype=np.float64)
    seconds = time.perf_counter() - started
    del block
    return gib / seconds


def probe(gib: float = 0.25, idle_s: float = 5.0) -> dict[str, float]:
    """The roof and the memory first-touch rates (fresh, reused at once, after ``idle_s`` seconds idle)."""
    from jobs.bench.kernels import matmul_roof  # torch: imported only when measured

    fresh = touch_gib_s(gib)
    reused = touch_gib_s(gib)
    time.sleep(idle_s)
    after_idle = touch_gib_s(gib)
    return {"roof_gflops": round(matmul_roof(), 1), "first_touch_gib_s": round(fresh, 2),
            "reused_gib_s": round(reused, 2), "after_idle_gib_s": round(after_idle, 2), "idle_s": idle_s}


def describe(host: dict[str, float]) -> str:
    """One sentence for a benchmark's machine line."""
    return (f"host probe (`python -m jobs.bench.host`): matmul roof {host['roof_gflops']:.0f} GFLOP/s; new memory "
            f"{host['first_touch_gib_s']:.2f} GiB/s at first touch, {host['reused_gib_s']:.2f} GiB/s reused at once, "
            f"{host['after_idle_gib_s']:.2f} GiB/s after {host['idle_s']:g} s idle")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jobs.bench.host", description=__doc__.splitlines()[0])
    parser.add_argument("--gib", type=float, default=0.25, help="GiB touched per measurement")
    parser.add_argument("--idle", type=float, default=5.0, help="seconds idle before the last measurement")
    args = parser.parse_args(argv)
    host = probe(args.gib, args.idle)
    print(json.dumps(host))
    print(describe(host))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
