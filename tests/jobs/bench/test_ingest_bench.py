"""The ingest benchmark at its smoke size: both ways load every row of the history, and the table says so. No
timings are asserted: benchmarks are not tests."""

from __future__ import annotations

import json
from pathlib import Path

from jobs.bench import ingest as bench


def test_ingest_bench_loads_every_row_both_ways_and_writes_its_table(tmp_path: Path, capsys) -> None:
    out = tmp_path / "ingest.json"
    assert bench.main(["--size", "50k", "--root", str(tmp_path / "bench"), "--repeats", "1", "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    rows = {name: v["rows"] for name, v in result["variants"].items()}
    assert rows == {"recs ingest": result["history_rows"], "DuckDB bare load (floor)": result["history_rows"]}
    assert result["history_rows"] > 40_000
    table = capsys.readouterr().out
    assert "| recs ingest | " in table and "| DuckDB bare load (floor) | " in table
    assert not (tmp_path / "bench" / "homes" / "ingest-50k").exists()  # its homes are removed
