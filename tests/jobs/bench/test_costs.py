"""make bench-costs: every family's estimate beside the fit it predicts (tiny data here; the real run is the bench)."""

import pandas as pd

from jobs.bench.costs import END, START, Fit, _interactions, measure, render
from models.cost import Shape
from models.registry import MODELS
from tests.support.warehouse import taste_ratings


def test_estimates_are_measured_under_the_cap_and_rendered():
    ratings = taste_ratings(n_users=60, n_items=30)
    ids = sorted(ratings["item_id"].unique())
    items = pd.DataFrame({"item_id": ids, "title": [f"film {i} of {len(ids)}" for i in range(len(ids))],
                          "genres": ["Drama|Comedy"[: 5 + 7 * (i % 2)] for i in range(len(ids))]})
    data = _interactions(ratings, items)
    fits = measure({"tiny": data}, cap=0.12)
    assert [f.model for f in fits] == list(MODELS)
    run = [f for f in fits if f.measured is not None]
    assert run and all(f.measured >= 0 and f.estimated <= 0.12 for f in run)
    assert all(f.estimated > 0.12 for f in fits if f.measured is None)
    text = render(fits + [Fit("x", "ease", Shape(1, 1, 1, 1), 9.0, None)], 0.12, "2026-12-02", "a machine")
    assert text.startswith(START) and text.endswith(END) and "not run (over the cap)" in text
    assert "| tiny | 60 | 30 |" in text and "Measured / estimated over the" in text
