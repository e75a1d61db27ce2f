"""Benchmark (b), MovieLens-100K time-ordered: the outer split's rule, the peers' helpers, the section's claim."""

from __future__ import annotations

import zlib

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from jobs.bench.quality_report import Report, Row
from jobs.bench.timeorder import (
    END,
    START,
    TimeOrderReport,
    chrono_split,
    ease_reference,
    held_count,
    microsoft_chrono_count,
    place_markers,
    render,
    split_comparison,
    top_k_unseen,
    verdict,
)

# --- the outer split ----------------------------------------------------------------------------------------


def test_held_count_rounds_half_up_and_keeps_one_on_each_side() -> None:
    n = np.array([0, 1, 2, 3, 5, 7, 8, 10, 12, 13, 20])
    #             0.2 n:  0 .2 .4 .6  1 1.4 1.6  2 2.4 2.6  4
    assert held_count(n, 20).tolist() == [0, 0, 1, 1, 1, 1, 2, 2, 2, 3, 4]
    assert held_count(np.array([15, 25, 35]), 10).tolist() == [2, 3, 4]  # 1.5, 2.5, 3.5: half up, not to even


def test_microsoft_chrono_split_holds_the_ceiling() -> None:
    # python_chrono_split(ratio=0.8): rank / n > 0.8 is test, i.e. ceil(0.2 n) rows (a user of one: all of it).
    assert [microsoft_chrono_count(n) for n in (1, 2, 5, 6, 7, 8, 10, 11)] == [1, 1, 1, 2, 2, 2, 2, 3]
    frame = pd.DataFrame({"user_id": ["a"] * 6 + ["b"] * 10, "item_id": [str(i) for i in range(16)]})
    assert split_comparison(frame) == {"users": 2, "test_rows": 1 + 2, "microsoft_test_rows": 2 + 2,
                                       "users_differing": 1, "min_ratings": 6}


def tiny_frame() -> pd.DataFrame:
    # u1: five ratings at distinct times, shuffled; u2: ten ratings, the latest three at one instant; u3: one rating.
    rows = [("u1", "i3", 30), ("u1", "i1", 10), ("u1", "i5", 50), ("u1", "i2", 20), ("u1", "i4", 40)]
    rows += [("u2", f"j{k}", 100 + k) for k in range(7)] + [("u2", f"t{k}", 999) for k in range(3)]
    rows += [("u3", "i1", 5)]
    return pd.DataFrame(rows, columns=["user_id", "item_id", "timestamp"]).assign(rating=4)


def test_chrono_split_holds_each_users_latest_fifth_ties_by_the_pair_hash() -> None:
    frame = tiny_frame()
    train, test = chrono_split(frame)
    assert len(train) + len(test) == len(frame) and set(train.index).isdisjoint(test.index)
    assert list(train.index) == sorted(train.index) and list(train.columns) == list(frame.columns)
    assert set(test.loc[test["user_id"] == "u1", "item_id"]) == {"i5"}  # round(0.2 x 5) = 1, the latest
    assert "u3" not in set(test["user_id"])  # one rating: kept in train
    # u2: round(0.2 x 10) = 2 of the three tied at t = 999, the two with the largest crc32 of "user\titem".
    tied = sorted((f"t{k}" for k in range(3)), key=lambda item: zlib.crc32(f"u2\t{item}".encode()))
    assert set(test.loc[test["user_id"] == "u2", "item_id"]) == set(tied[1:])
    assert set(train.loc[train["user_id"] == "u2", "item_id"]) >= {f"j{k}" for k in range(7)} | {tied[0]}


def test_chrono_split_is_deterministic_and_ignores_the_row_order() -> None:
    frame = tiny_frame()
    _, test = chrono_split(frame)
    shuffled = frame.sample(frac=1.0, random_state=3)
    _, again = chrono_split(shuffled)
    key = ["user_id", "item_id"]
    assert test.sort_values(key)[key].reset_index(drop=True).equals(again.sort_values(key)[key].reset_index(drop=True))


# --- the peers ----------------------------------------------------------------------------------------------


def test_ease_reference_is_steck_closed_form() -> None:
    x = sp.csr_matrix(np.array([[1, 1, 0, 0], [0, 1, 1, 0], [1, 0, 1, 1], [0, 0, 1, 1]], dtype=np.float32))
    b = ease_reference(x, lam=2.0)
    assert np.allclose(np.diag(b), 0)
    p = np.linalg.inv(x.T.toarray() @ x.toarray() + 2.0 * np.eye(4))
    expected = np.eye(4) - p / np.diag(p)  # B = I - P diagMat(1 / diag(P))
    assert np.allclose(b, expected)


def test_top_k_unseen_removes_training_items() -> None:
    scores = np.array([[0.9, 0.8, 0.1, 0.5], [0.2, 0.3, 0.4, 0.1]])
    seen = sp.csr_matrix(np.array([[1, 0, 0, 0], [0, 0, 1, 0]], dtype=np.float32))
    assert top_k_unseen(scores, seen, k=2).tolist() == [[1, 3], [1, 0]]


# --- the section --------------------------------------------------------------------------------------------


def row(model: str, ndcg: float, **tuning) -> Row:
    metrics = {"map": ndcg / 3, "ndcg@k": ndcg, "precision@k": ndcg / 2, "recall@k": ndcg / 4}
    return Row(model, metrics, 0.2, 0.1, 0.05, 2.0, 0.1, params={"lam": 300.0}, tuning=tuning or {})


def report(champion_ndcg: float, peer_ndcg: float) -> TimeOrderReport:
    rows = [row("popularity", 0.10, trials=1, seconds=0.0), row("ease", champion_ndcg, trials=3, seconds=4.0)]
    night = row("nightly champion: ease", champion_ndcg)
    night.nightly_seconds = 12.5
    pipeline = Report(rows, night, ("popularity", "ease"), {"model": "ease", "reason": "ease leads", "holdout_ndcg": {}},
                      {"ingest_files": 0.4}, {"ratings": 16, "users": 3, "items": 16, "train": 12, "test": 4}, 2,
                      trials=3, minutes=1.0, protocol="each user's most recent 10%")
    peers = [row("implicit ALS 0.7.3 (peer)", peer_ndcg, trials=3, seconds=1.0),
             row("EASE, Steck's reference (peer)", 0.15, trials=3, seconds=1.0)]
    split = {"users": 3, "test_rows": 4, "microsoft_test_rows": 5, "users_differing": 1, "min_ratings": 1}
    return TimeOrderReport(pipeline, peers, split, 3, 60.0)


def test_the_claim_follows_the_numbers() -> None:
    good = report(0.30, 0.20)
    assert verdict(good) == {"champion": "ease", "lost_ndcg": [], "lost_any": [], "families": True, "peers": True,
                             "same_as_own": True}
    text = render(good, "2026-01-01", "2 CPU cores")
    assert text.startswith(START) and text.endswith(END)
    assert "**beats every other family run alone and both peers** on nDCG@10, and on all four metrics." in text
    assert "12.5 s** from ingest to report, under a minute" in text

    bad = report(0.30, 0.31)
    assert verdict(bad)["lost_ndcg"] == ["implicit ALS 0.7.3 (peer)"] and not verdict(bad)["peers"]
    text = render(bad, "2026-01-01", "2 CPU cores")
    assert "**does not beat** implicit ALS 0.7.3 (peer)" in text and "beats every other family" not in text


def test_the_section_goes_right_after_the_diversity_section(tmp_path) -> None:
    out = tmp_path / "benchmarks.md"
    out.write_text("# Benchmarks\n\n<!-- diversity:start -->\nd\n<!-- diversity:end -->\n\n### Next\n")
    place_markers(out)
    place_markers(out)  # once
    assert out.read_text() == (f"# Benchmarks\n\n<!-- diversity:start -->\nd\n<!-- diversity:end -->\n\n{START}\n{END}"
                               "\n\n### Next\n")


@pytest.mark.parametrize("percent", [10, 20])
def test_split_of_random_data_holds_the_rounded_share_per_user(percent: int) -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"user_id": rng.integers(0, 30, 600).astype(str), "item_id": np.arange(600).astype(str),
                          "timestamp": rng.integers(0, 50, 600)})  # many ties in time
    train, test = chrono_split(frame, percent)
    sizes = frame.groupby("user_id").size()
    held = test.groupby("user_id").size().reindex(sizes.index, fill_value=0)
    assert (held.to_numpy() == held_count(sizes.to_numpy(), percent)).all()
    latest_train = train.groupby("user_id")["timestamp"].max()
    assert (test.groupby("user_id")["timestamp"].min() >= latest_train.reindex(held[held > 0].index)).all()
