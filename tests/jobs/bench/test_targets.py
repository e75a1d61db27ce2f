"""The Scale section's closing parts from measured nights: growth exponents, the log-log plot, shard costs, verdicts."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from jobs.bench import plot, targets


def _night(n_ratings: int, n_users: int, seconds: dict[str, float], shards: int = 1, ndcg: float = 0.2946) -> dict:
    steps = [{"step": "whole night", "depth": 0, "seconds": sum(seconds.values()) * shards, "peak_rss_mb": 5000.0}]
    for name, value in seconds.items():
        if name == "score":
            steps += [{"step": f"score shard {i + 1}/{shards} (top-100)", "depth": 1, "seconds": value, "peak_rss_mb": 900.0 + i}
                      for i in range(shards)]
        else:
            steps.append({"step": name, "depth": 1, "seconds": value, "peak_rss_mb": 1000.0})
    steps.append({"step": "fit ials (training split)", "depth": 2, "seconds": 1.0, "peak_rss_mb": 1.0})
    return {"data": {"n_ratings": n_ratings, "n_users": n_users}, "steps": steps, "night_seconds": steps[0]["seconds"],
            "night_peak_rss_mb": 5000.0, "bulk_ingest": {"rows_per_s": 3.2e6}, "champion": {"model": "ials"},
            "holdout_ndcg": {"ials": ndcg, "popularity": 0.25}}


def _results() -> dict:
    return {"sizes": {
        "1M": {"night": _night(1_000_000, 6_000, {"freeze snapshot": 1.0, "score": 2.0}), "kernels": None},
        "20M": {"night": _night(20_000_000, 138_000, {"freeze snapshot": 20.0, "score": 80.0}, ndcg=0.2900), "kernels": None},
        "100M": {"night": _night(100_000_000, 700_000, {"freeze snapshot": 100.0, "score": 100.0}, shards=4), "kernels": None},
    }}


def test_growth_gives_each_steps_exponent_between_sizes_and_the_shard_cost():
    lines = targets.growth(_results(), ["1M", "20M", "100M"], "scale.svg")
    table = {line.split(" | ")[0].strip("| "): line for line in lines if line.startswith("| ")}
    assert table["freeze snapshot"].endswith("| 1.00 | 1.00 |")  # 20x the data, 20x the time: linear
    score = table["score (all shards)"].rstrip(" |").split(" | ")
    assert score[1] == "1.23" and score[2] == "1.00"  # 2 -> 80 s over 20x (b = log 40 / log 20); 80 -> 4 x 100 s
    assert "![seconds against interactions, log-log, one line per step](scale.svg)" in lines
    assert any("4 shards, about 175,000 users each" in line for line in lines)
    assert sum(line.startswith("| score shard ") for line in lines) == 4


def test_verdicts_name_each_target_and_say_whether_it_was_met():
    lines = targets.verdicts(_results())
    assert any("Ingest at 20M: 3,200,000 rows/s" in line and line.endswith("met.") for line in lines)
    assert any(line.startswith("- Whole night at 20M: 100 s (target <= 90 s): **short**") for line in lines)
    assert any("-1.56 %, target within 1 %): **short**" in line for line in lines)  # 0.2900 against 0.2946
    assert any(line.startswith("- Whole night at 100M: 800 s (target <= 900 s): met") for line in lines)


def test_the_plot_has_one_line_per_top_level_step_on_log_axes():
    lines = plot.step_lines(_results())
    assert set(lines) == {"whole night", "freeze snapshot", "score (all shards)"}  # sub-steps left out
    assert lines["score (all shards)"][-1] == (100_000_000.0, 400.0)  # the shards of one size add up
    svg = ET.fromstring(plot.loglog_svg(lines, "t"))
    ns = "{http://www.w3.org/2000/svg}"
    assert len(svg.findall(f"{ns}polyline")) == 3
    labels = {t.text for t in svg.findall(f"{ns}text")}
    assert {"1M", "10M", "100M", "whole night"} <= labels
