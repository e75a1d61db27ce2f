"""The protocol-agreement benchmark: its matrix building and its table, on frames small enough to check by hand."""

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from jobs.bench.protocols import END, START, fitted, interactions, recency_weighted, render


def test_interactions_keep_ratings_and_times_together_in_csr_order() -> None:
    train = pd.DataFrame({"user_id": ["2", "1", "2", "1"], "item_id": ["b", "c", "a", "a"],
                          "rating": [4.0, 5.0, 3.0, 1.0],
                          "timestamp": [1_700_000_004, 1_700_000_003, 1_700_000_002, 1_700_000_001]})
    items = pd.DataFrame({"item_id": ["a", "b", "c"], "title": ["A", "B", "C"], "genres": ["x", "y", "z"]})
    data, rated_at = interactions(train, items)
    assert list(data.user_ids) == ["1", "2"] and list(data.item_ids) == ["a", "b", "c"]
    # CSR order: user 1 (a, c), user 2 (a, b); each stored rating next to its own time, to the second.
    assert data.matrix.indices.tolist() == [0, 2, 0, 1]
    assert data.matrix.data.tolist() == [1.0, 5.0, 3.0, 4.0]
    assert rated_at.tolist() == [1_700_000_001, 1_700_000_003, 1_700_000_002, 1_700_000_004]  # exact: float64
    assert list(data.item_features["title"]) == ["A", "B", "C"]


def test_table_marks_each_columns_best_and_the_rank_agreement() -> None:
    table = pd.DataFrame({"model": ["a", "b", "c"], "test": [0.3, 0.2, 0.1],
                          "window 0": [0.01, 0.02, 0.03], "window 1": [0.03, 0.02, 0.01]})
    text = render(table, pd.DataFrame(), "2026-11-22")
    assert text.startswith(START) and text.endswith(END)
    assert "| a | **0.3000** | 0.0100 | **0.0300** |" in text
    assert "| c | 0.1000 | **0.0300** | 0.0100 |" in text
    # window 0 ranks the models in reverse (tau -1), window 1 as the test split does (tau +1).
    assert text.splitlines()[-2].endswith("| 1 | -1.00 | +1.00 |")


def test_recency_weights_halve_every_half_life_counted_back_from_each_users_latest() -> None:
    # user 0 rated items 0, 1, 2 at t = 1000, 1600, 2200; user 1 rated item 1 once; user 2 nothing.
    times = sp.csr_matrix(np.array([[1000.0, 1600.0, 2200.0], [0.0, 5000.0, 0.0], [0.0, 0.0, 0.0]]))
    history = sp.csr_matrix(np.array([[1.0, 1.0, 1.0], [0.0, 1.0, 0.0], [0.0, 0.0, 0.0]], dtype=np.float32))
    weighted = recency_weighted(history, times, half_life_s=600.0).toarray()
    assert weighted.tolist() == [[0.25, 0.5, 1.0], [0.0, 1.0, 0.0], [0.0, 0.0, 0.0]]
    # A split's train history is a subset of the pattern: the later times must not count as its latest.
    earlier = sp.csr_matrix(np.array([[1.0, 1.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 0.0]], dtype=np.float32))
    assert recency_weighted(earlier, times, 600.0).toarray()[0].tolist() == [0.5, 1.0, 0.0]
    # A base leans back toward the plain history: base + 2^(-age / half-life).
    assert recency_weighted(history, times, 600.0, base=1.0).toarray()[0].tolist() == [1.25, 1.5, 2.0]
    with pytest.raises(ValueError, match="a time for every entry"):
        recency_weighted(history, sp.csr_matrix(np.diag([1.0, 1.0, 1.0])), 600.0)


def test_probe_scores_from_the_weighted_history_and_refuses_families_that_do_not_score_from_it() -> None:
    frame = pd.DataFrame({"user_id": ["u1", "u1", "u2", "u2", "u3"], "item_id": ["a", "b", "a", "c", "b"],
                          "rating": [5.0, 4.0, 3.0, 5.0, 4.0], "timestamp": [100, 700, 100, 200, 300]})
    items = pd.DataFrame({"item_id": ["a", "b", "c"], "title": ["A", "B", "C"], "genres": ["x", "y", "z"]})
    data, rated_at = interactions(frame, items)
    times = sp.csr_matrix((rated_at, data.matrix.indices, data.matrix.indptr), shape=data.matrix.shape)
    plain = fitted("itemknn", {}, data, times)
    probe = fitted("itemknn", {}, data, times, half_life_s=600.0)
    assert plain.history[0].toarray().tolist() == [[1.0, 1.0, 0.0]]
    assert probe.history[0].toarray().tolist() == [[0.5, 1.0, 0.0]]  # u1 rated a 600 s before b
    assert not np.allclose(plain.score(np.array([0])).numpy(), probe.score(np.array([0])).numpy())
    with pytest.raises(ValueError, match="recency probe"):
        fitted("popularity", {}, data, times, half_life_s=600.0)


def test_probe_table_gives_each_weighted_cell_its_change_against_the_plain_row() -> None:
    table = pd.DataFrame({"model": ["ease", "popularity"], "test": [0.4, 0.2], "window 0": [0.05, 0.04]})
    probe = pd.DataFrame({"model": ["ease", "ease", "ease"], "history": ["as is", "1 + r", "r (recency alone)"],
                          "test": [0.4, 0.38, 0.3], "window 0": [0.05, 0.055, 0.06]})
    text = render(table, probe, "2026-11-22")
    assert "| ease | as is | 0.4000 | 0.0500 |" in text
    assert "| ease | 1 + r | 0.3800 (-5%) | 0.0550 (+10%) |" in text
    assert "| ease | r (recency alone) | 0.3000 (-25%) | 0.0600 (+20%) |" in text
    assert text.endswith(END)
