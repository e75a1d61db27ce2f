"""The scale benchmark at its smoke size: it runs end to end and writes its table rows, leaving the rest of the
file alone. No timings are asserted: benchmarks are not tests (make bench runs the real sizes). implicit, the
benchmark's baseline, is not a test dependency: without it the bench leaves its columns empty."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jobs.bench import scale as bench
from jobs.config import load_settings


@pytest.mark.slow
def test_bench_writes_its_rows_and_keeps_the_other_section(tmp_path: Path) -> None:
    out = tmp_path / "benchmarks.md"
    quality = "## Quality\n\n| model | ndcg@10 |\n|---|---|\n| ials | 0.3 |\n"
    out.write_text(f"# Benchmarks\n\n{quality}\n{bench.START}\nold scale text\n{bench.END}\n\nfooter\n")

    assert bench.main(["--sizes", "50k", "--out", str(out), "--root", str(tmp_path / "bench"), "--no-default-night"]) == 0

    text = out.read_text()
    assert text.startswith(f"# Benchmarks\n\n{quality}\n{bench.START}\n") and text.endswith(f"{bench.END}\n\nfooter\n")
    assert "old scale text" not in text and text.count(bench.START) == 1
    scale = text.split(bench.START)[1].split(bench.END)[0]
    for heading in ("### The night, step by step", "### Ingest", "### Scoring", "### Training", "### Against the targets"):
        assert heading in scale
    rows = [line for line in scale.splitlines() if line.startswith("| ")]
    for step in ("bulk ingest (history CSV)", "whole night", "freeze snapshot", "evaluate candidate ials", "fit ials",
                 "holdout metrics ials", "score shard 1/1 (top-100)", "build + check release", "publish"):
        assert any(step in row and " s (" in row for row in rows), step
    assert any(row.startswith("| 50k | history CSV | ") for row in rows)
    assert any(row.startswith("| 50k | 1k x ") for row in rows)  # scoring
    assert "GFLOP/s" in scale and "Machine:" in scale
    assert "At 50k, host probe (`python -m jobs.bench.host`): matmul roof " in scale


def test_write_section_creates_the_file_or_appends_to_one_without_markers(tmp_path: Path) -> None:
    fresh = tmp_path / "new.md"
    bench.write_section(fresh, f"{bench.START}\nx\n{bench.END}\n")
    assert fresh.read_text() == f"# Benchmarks\n\n{bench.START}\nx\n{bench.END}\n"
    other = tmp_path / "other.md"
    other.write_text("# Benchmarks\n\n## Quality\nq\n")
    bench.write_section(other, f"{bench.START}\ny\n{bench.END}\n")
    assert other.read_text() == f"# Benchmarks\n\n## Quality\nq\n\n{bench.START}\ny\n{bench.END}\n"


@pytest.mark.slow
def test_the_default_night_runs_the_default_candidates_and_writes_its_section(tmp_path: Path) -> None:
    out = tmp_path / "benchmarks.md"
    out.write_text(f"# Benchmarks\n\n{bench.START}\nscale\n{bench.END}\n")
    assert bench.main(["--default-night", "50k", "--out", str(out), "--root", str(tmp_path / "bench")]) == 0
    night = json.loads((tmp_path / "bench" / "night-50k-default.json").read_text())
    assert night["default_config"] and night["models"] == list(load_settings(tmp_path).train.models)
    assert night["evaluated"] == night["models"]  # 50k ratings: every default candidate fits the budget
    section = out.read_text().split(bench.DEFAULT_START)[1].split(bench.DEFAULT_END)[0]
    assert f"default candidates ({', '.join(night['models'])})" in section and "No candidate was skipped" in section
    assert f"Champion: {night['champion']['model']}." in section and "| **whole night** |" in section
    assert out.read_text().startswith(f"# Benchmarks\n\n{bench.START}\nscale\n{bench.END}\n")
