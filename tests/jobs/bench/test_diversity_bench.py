"""The diversity benchmark: nights at two diversity values on small synthetic MovieLens-like data, the section it
renders, and where that section goes in docs/benchmarks.md."""

from __future__ import annotations

import pytest

from jobs.bench.diversity import END, START, Curve, Point, candidate_models, render, run_curve, write_curve
from jobs.bench.quality_report import END as QUALITY_END
from jobs.bench.quality_report import START as QUALITY_START
from tests.jobs.bench.test_quality import synthetic_movielens


def point(diversity: float, ndcg: float, ild: float, champion: str = "ease") -> Point:
    metrics = {"map": ndcg / 3, "ndcg@k": ndcg, "precision@k": ndcg * 0.9, "recall@k": ndcg / 2, "users": 5}
    return Point(diversity, champion, metrics, ild, 3.0 + ild, 0.2 + ild / 10, 1.5)


def curve(*points: Point) -> Curve:
    return Curve(list(points), ("popularity", "ease"), "random 10% of each item's interactions (seed 42)",
                 {"ratings": 100, "train": 75, "test": 25}, 2, 12.0)


def test_candidates_are_the_configs_then_itemknn_and_rp3beta() -> None:
    models = candidate_models()
    assert models[-2:] == ("itemknn", "rp3beta") and len(set(models)) == len(models)
    assert "ease" in models


@pytest.mark.slow
def test_curve_runs_nights_and_ild_does_not_fall(tmp_path) -> None:
    data = synthetic_movielens()
    got = run_curve(data, tmp_path / "work", (0.0, 0.5), models=("popularity", "ease"), threads=1)
    assert [p.diversity for p in got.points] == [0.0, 0.5]
    plain, diverse = got.points
    assert plain.champion == diverse.champion  # same data, same seed: the same gate decision
    assert diverse.ild >= plain.ild - 1e-9
    for p in got.points:
        assert 0 < p.metrics["users"] <= data.ratings["user_id"].nunique()
        assert 0 <= p.ild <= 1 and p.novelty > 0 and 0 < p.coverage <= 1 and p.night_seconds > 0
    section = render(got, "2026-01-01", "2 CPU cores")
    assert section.startswith(START) and section.endswith(END)
    assert f"| 0 | {plain.champion} | {plain.metrics['ndcg@k']:.4f} |" in section
    assert f"| 0.5 | {diverse.champion} |" in section and f"{diverse.ild:.4f}" in section


def test_reading_is_computed_from_the_rows() -> None:
    section = render(curve(point(0.0, 0.48, 0.60), point(0.25, 0.47, 0.70), point(0.5, 0.40, 0.65)), "d", "m")
    assert "ILD@10 goes from 0.6000 to 0.6500 (+8.3 %; it does not rise at every step)" in section
    assert "0→0.25: ILD +0.1000, nDCG@10 -0.0100 (0.10 nDCG@10 lost per unit of ILD gained)" in section
    assert "0.25→0.5: ILD -0.0500, nDCG@10 -0.0700 (no ILD gained)" in section
    assert "Rows at or above BiVAE's nDCG@10 (0.4687): diversity 0, 0.25" in section
    assert "crowned ease at every value" in section
    mixed = render(curve(point(0.0, 0.3, 0.5), point(0.5, 0.2, 0.6, "rp3beta")), "d", "m")
    assert "champion differed" in mixed and "No row reaches" in mixed and "rises at every step" in mixed


def test_first_section_goes_after_quality_then_replaces_itself(tmp_path) -> None:
    out = tmp_path / "benchmarks.md"
    out.write_text(f"# Benchmarks\n\n{QUALITY_START}\nquality\n{QUALITY_END}\n\n## Scale\n\nscale\n")
    section = render(curve(point(0.0, 0.48, 0.6), point(0.1, 0.47, 0.65)), "2026-01-01", "2 CPU cores")
    write_curve(out, section)
    text = out.read_text()
    assert text.index(QUALITY_END) < text.index(START) < text.index(END) < text.index("## Scale")
    write_curve(out, section.replace("0.4800", "0.4900"))
    again = out.read_text()
    assert again.count(START) == 1 and again.count(END) == 1 and "0.4900" in again and "0.4800" not in again
    assert again.endswith("## Scale\n\nscale\n")
    lone = tmp_path / "new.md"
    write_curve(lone, section)  # no file, no Quality section: appended under a heading
    assert lone.read_text().startswith("# Benchmarks\n\n" + START)
