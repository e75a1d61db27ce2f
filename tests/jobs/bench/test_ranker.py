"""The hybrid-ranker comparison: per-user nDCG@10 agrees with the benchmark's metric; the choice's noise guard."""

from __future__ import annotations

import numpy as np
import pandas as pd

from jobs.bench.movielens import ranking_metrics
from jobs.bench.ranker import DEFAULTS, END, START, Result, chosen, per_user_ndcg, render


def test_per_user_ndcg_averages_to_ranking_metrics() -> None:
    rng = np.random.default_rng(0)
    truth = pd.DataFrame([(f"u{u}", f"i{i}") for u in range(30) for i in rng.choice(40, rng.integers(1, 15), replace=False)],
                         columns=["user_id", "item_id"])
    recs = pd.DataFrame([(f"u{u}", f"i{i}", r + 1) for u in range(25) for r, i in enumerate(rng.choice(40, 10, replace=False))],
                        columns=["user_id", "item_id", "rank"])
    ndcg = per_user_ndcg(truth, recs)
    assert len(ndcg) == 25 and (ndcg >= 0).all() and (ndcg <= 1).all() and (ndcg == 0).any() and (ndcg > 0).any()
    assert abs(ndcg.mean() - ranking_metrics(truth, recs)["ndcg@k"]) < 1e-12


def _result(name: str, ndcg: float, vs_defaults: tuple[float, float]) -> Result:
    return Result(name, "hybrid", {}, ndcg, (0.0, 0.01), {"map": 0.1, "ndcg@k": 0.4, "precision@k": 0.3,
                                                          "recall@k": 0.2}, (0.0, 0.01), 1.0, 1.0, vs_defaults)


def test_the_defaults_stand_unless_a_variant_beats_them_beyond_the_noise() -> None:
    def results(gain: float, se: float) -> dict[str, list[Result]]:
        return {p: [_result(DEFAULTS, 0.150, (0.0, 0.0)), _result("other", 0.150 + gain, (gain, se))] for p in "ab"}

    assert chosen(results(0.0001, 0.002)) == DEFAULTS  # a higher mean within the noise does not win
    assert chosen(results(-0.01, 0.002)) == DEFAULTS
    assert chosen(results(0.01, 0.002)) == "other"  # pooled SE 0.0014: +0.01 is 7 of them
    text = render(results(0.01, 0.002), "2026-12-03", "2 CPU cores", 60.0, "4.7.0")
    assert text.startswith(START) and text.endswith(END) and "Chosen: **other**" in text
