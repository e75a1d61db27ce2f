"""The protocol-agreement benchmark: its matrix building and its table, on frames small enough to check by hand."""

import pandas as pd

from jobs.bench_protocols import END, START, interactions, render


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
    text = render(table, "2026-11-22")
    assert text.startswith(START) and text.endswith(END)
    assert "| a | **0.3000** | 0.0100 | **0.0300** |" in text
    assert "| c | 0.1000 | **0.0300** | 0.0100 |" in text
    # window 0 ranks the models in reverse (tau -1), window 1 as the test split does (tau +1).
    assert text.splitlines()[-2].endswith("| 1 | -1.00 | +1.00 |")
