"""The host probe that every night benchmark records: real measurements of this machine, checked for shape and
sense only (benchmarks are not timed tests)."""

from __future__ import annotations

from jobs.bench import host


def test_the_probe_measures_the_roof_and_three_memory_rates_and_describes_them() -> None:
    result = host.probe(gib=0.05, idle_s=0.0)

    assert set(result) == {"roof_gflops", "first_touch_gib_s", "reused_gib_s", "after_idle_gib_s", "idle_s"}
    assert all(result[k] > 0 for k in ("roof_gflops", "first_touch_gib_s", "reused_gib_s", "after_idle_gib_s"))
    text = host.describe(result)
    assert f"matmul roof {result['roof_gflops']:.0f} GFLOP/s" in text and "after 0 s idle" in text


def test_the_command_prints_the_json_and_the_sentence(capsys) -> None:
    assert host.main(["--gib", "0.05", "--idle", "0"]) == 0
    first, second = capsys.readouterr().out.splitlines()
    assert first.startswith('{"roof_gflops": ') and second.startswith("host probe (")
