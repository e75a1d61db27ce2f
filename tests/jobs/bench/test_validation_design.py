"""The validation-design study on a small planted world: every design ranks every cell, picks one of them, and
its regret is measured against the best cell on the test split (no figure asserted: the table is the result)."""

from __future__ import annotations

import numpy as np

from jobs.bench.quality import microsoft_split
from jobs.bench.validation_design import DESIGNS, markdown, study
from tests.support.warehouse import taste_ratings


def test_each_design_picks_a_cell_and_its_regret_is_against_the_best_test_cell() -> None:
    ratings = taste_ratings(n_users=80, n_items=40, per_user=12).rename(columns={"rated_at": "timestamp"})
    train, test = microsoft_split(ratings)

    result = study(train, test, [10.0, 100.0], [0.0, 0.5])

    cells = [(10.0, 0.0), (10.0, 0.5), (100.0, 0.0), (100.0, 0.5), (250.0, 0.0)]  # EASE's defaults added last
    assert result["cells"] == cells and result["defaults_test"] == result["test"][-1] and result["best_test"] == result["test"].max()
    assert [(d["fraction"], d["folds"]) for d in result["designs"]] == list(DESIGNS)
    for design in result["designs"]:
        assert design["pick"] in cells and design["pick_test"] == result["test"][cells.index(design["pick"])]
        assert design["user_windows"] == sum(len(fold[0]) for fold in result["folds"][design["fraction"]][:design["folds"]])
        assert -1.0 <= design["rho"] <= 1.0 or np.isnan(design["rho"])
    fold_means = [np.mean([np.mean(fold[c]) for fold in result["folds"][0.1][:3]]) for c in range(len(cells))]
    assert result["designs"][0]["pick"] == cells[int(np.argmax(fold_means))]
    table = markdown(result)
    assert table.count("\n| 0.") == len(DESIGNS) and "Best cell on the test split (oracle)" in table
