"""The quality benchmark: Microsoft Recommenders' split and metrics, the wheel reader, and the bench path end to end."""

from __future__ import annotations

import math
import zipfile

import numpy as np
import pandas as pd
import pytest

from jobs.bench.movielens import (
    INTER_MEMBER,
    ITEM_MEMBER,
    MovieLens,
    load_ml100k,
    python_stratified_split,
    ranking_metrics,
    read_wheel,
)
from jobs.bench.page import write_section
from jobs.bench.quality import are_config_defaults, run_benchmark, step_timer
from jobs.bench.quality_report import END, START, render
from models.registry import model_class

# --- the split ------------------------------------------------------------------------------------------------


def test_random_state_draws_what_the_seeded_global_generator_draws() -> None:
    """Their splitter calls np.random.seed(seed) then np.random.rand(n); RandomState(seed).rand(n) is the same."""
    np.random.seed(42)
    expected = np.random.rand(50)
    assert np.array_equal(np.random.RandomState(42).rand(50), expected)


def test_one_group_is_cut_at_the_ratio_in_random_order() -> None:
    # RandomState(42).rand(8) = .375 .951 .732 .599 .156 .156 .058 .866: ordered rows 6 5 4 0 3 2 | 7 1.
    frame = pd.DataFrame({"user_id": [f"u{i}" for i in range(8)], "item_id": "a", "rating": 3})
    train, test = python_stratified_split(frame, ratio=0.75, filter_by="item", seed=42)
    assert list(train.index) == [6, 5, 4, 0, 3, 2]
    assert sorted(test.index) == [1, 7]


def test_each_item_keeps_the_floor_of_its_share_by_hand() -> None:
    #        row:   0     1     2     3     4     5     6     7
    frame = pd.DataFrame({
        "user_id": ["u1", "u2", "u3", "u1", "u2", "u3", "u4", "u4"],
        "item_id": ["a", "b", "a", "c", "a", "b", "a", "b"],
        "rating": [5, 4, 3, 2, 1, 5, 4, 3],
    })
    # a: rows 0 2 4 6 draw .375 .732 .156 .058 -> order 6 4 0 | 2;  b: rows 1 5 7 draw .951 .156 .866 -> 5 7 | 1;
    # c: its only row is at position 1/1 > 0.75, so it is test.
    train, test = python_stratified_split(frame, ratio=0.75, filter_by="item", seed=42)
    assert sorted(train.index) == [0, 4, 5, 6, 7]
    assert sorted(test.index) == [1, 2, 3]
    assert list(train.columns) == list(frame.columns)  # the helper column is gone


def random_frame(n_users: int = 40, n_items: int = 25, n: int = 500, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    pairs = np.unique(np.column_stack([rng.integers(0, n_users, n), rng.integers(0, n_items, n)]), axis=0)
    pairs = pairs[rng.permutation(len(pairs))]
    return pd.DataFrame({"user_id": [f"u{u}" for u in pairs[:, 0]], "item_id": [f"i{i}" for i in pairs[:, 1]],
                         "rating": rng.integers(1, 6, len(pairs)), "timestamp": rng.integers(8e8, 9e8, len(pairs))})


@pytest.mark.parametrize("filter_by, column", [("item", "item_id"), ("user", "user_id")])
def test_stratified_per_group_and_deterministic(filter_by: str, column: str) -> None:
    frame = random_frame()
    train, test = python_stratified_split(frame, 0.75, filter_by=filter_by, seed=42)
    assert len(train) + len(test) == len(frame)
    assert set(train.index).isdisjoint(test.index)
    sizes = frame.groupby(column).size()
    kept = train.groupby(column).size().reindex(sizes.index, fill_value=0)
    assert (kept == np.floor(0.75 * sizes).astype(int)).all()
    again, _ = python_stratified_split(frame, 0.75, filter_by=filter_by, seed=42)
    assert train.equals(again)
    other, _ = python_stratified_split(frame, 0.75, filter_by=filter_by, seed=7)
    assert not set(other.index) == set(train.index)
    assert (other.groupby(column).size().reindex(sizes.index, fill_value=0) == kept).all()


def test_split_rejects_bad_arguments() -> None:
    frame = random_frame(n=20)
    with pytest.raises(ValueError):
        python_stratified_split(frame, 1.0)
    with pytest.raises(ValueError):
        python_stratified_split(frame, 0.75, filter_by="rating")


# --- the metrics ------------------------------------------------------------------------------------------------


def test_metrics_match_hand_computed_values() -> None:
    truth = pd.DataFrame([("u1", "a"), ("u1", "b"), ("u1", "c"), ("u2", "d"), ("u3", "e"), ("u3", "f"), ("u5", "g")],
                         columns=["user_id", "item_id"])
    recs = pd.DataFrame([
        ("u1", "a", 1), ("u1", "x", 2), ("u1", "b", 3), ("u1", "c", 4),  # rank 4 is beyond k = 3
        ("u2", "y", 1), ("u2", "z", 2), ("u2", "d", 3),
        ("u4", "a", 1),  # no truth: not in the population
        ("u5", "h", 1),  # in both, no hit: counts zero
    ], columns=["user_id", "item_id", "rank"])  # u3 has no predictions: not in the population
    got = ranking_metrics(truth, recs, k=3)
    assert got["users"] == 3
    assert got["precision@k"] == pytest.approx((2 / 3 + 1 / 3 + 0) / 3)
    assert got["recall@k"] == pytest.approx((2 / 3 + 1 / 1 + 0) / 3)
    # map: u1 hits at ranks 1 and 3 -> (1/1 + 2/3) / 3 held-out items; u2 one hit at rank 3 -> (1/3) / 1.
    assert got["map"] == pytest.approx(((1 + 2 / 3) / 3 + 1 / 3 + 0) / 3)
    # ndcg (binary; the log base cancels): u1 (1 + 1/log2 4) / (1 + 1/log2 3 + 1/log2 4); u2 (1/log2 4) / 1.
    u1 = (1 + 0.5) / (1 + 1 / math.log2(3) + 0.5)
    assert got["ndcg@k"] == pytest.approx((u1 + 0.5 + 0) / 3)


def test_map_divides_by_all_held_out_items_not_k() -> None:
    truth = pd.DataFrame({"user_id": "u", "item_id": [f"i{j}" for j in range(20)]})
    recs = pd.DataFrame({"user_id": "u", "item_id": [f"i{j}" for j in range(10)], "rank": range(1, 11)})
    got = ranking_metrics(truth, recs, k=10)
    assert got["precision@k"] == 1.0 and got["ndcg@k"] == pytest.approx(1.0)
    assert got["recall@k"] == 0.5 and got["map"] == pytest.approx(0.5)  # 10 hits of precision 1, over 20


def test_metrics_of_disjoint_users_are_zero() -> None:
    truth = pd.DataFrame({"user_id": ["a"], "item_id": ["x"]})
    recs = pd.DataFrame({"user_id": ["b"], "item_id": ["x"], "rank": [1]})
    assert ranking_metrics(truth, recs, 10) == {"map": 0.0, "ndcg@k": 0.0, "precision@k": 0.0, "recall@k": 0.0, "users": 0}


# --- the data ---------------------------------------------------------------------------------------------------


def synthetic_movielens(n_users: int = 60, n_items: int = 40, per_user: int = 12, seed: int = 0) -> MovieLens:
    """Ratings with taste groups (users of group g mostly rate items of block g), unix times in 1997-98."""
    rng = np.random.default_rng(seed)
    groups, block = 4, n_items // 4
    rows = []
    for user in range(1, n_users + 1):
        g = user % groups
        own = rng.choice(np.arange(g * block, (g + 1) * block), size=per_user - 2, replace=False)
        for item in np.unique(np.concatenate([own, rng.choice(n_items, 2, replace=False)])):
            rows.append((str(user), str(item + 1), int(rng.integers(1, 6)), int(rng.integers(874_724_710, 893_286_638))))
    ratings = pd.DataFrame(rows, columns=["user_id", "item_id", "rating", "timestamp"])
    ratings = ratings.iloc[rng.permutation(len(ratings))].reset_index(drop=True)
    genres = ["Action", "Comedy", "Drama", "Sci-Fi"]
    items = pd.DataFrame({"item_id": [str(i + 1) for i in range(n_items)],
                          "title": [f"Movie {i + 1}, part {i % 3} (1995)" for i in range(n_items)],
                          "genres": [f"{genres[i // block % 4]}|{genres[(i + 1) % 4]}" for i in range(n_items)]})
    return MovieLens(ratings=ratings, items=items)


def fake_wheel(path, data: MovieLens):
    inter = "user_id:token\titem_id:token\trating:float\ttimestamp:float\n" + "".join(
        f"{r.user_id}\t{r.item_id}\t{r.rating}\t{r.timestamp}\n" for r in data.ratings.itertuples())
    item = "item_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq\n" + "".join(
        f"{r.item_id}\t{r.title.rsplit(' (', 1)[0]}\t1995\t{r.genres.replace('|', ' ')}\n" for r in data.items.itertuples())
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(INTER_MEMBER, inter)
        zf.writestr(ITEM_MEMBER, item)
    return path


def test_wheel_reader_and_checks(tmp_path) -> None:
    data = synthetic_movielens()
    wheel = fake_wheel(tmp_path / "recbole-0-py3-none-any.whl", data)
    read = read_wheel(wheel)
    assert read.ratings[["user_id", "item_id"]].equals(data.ratings[["user_id", "item_id"]])  # file order kept
    assert read.items.iloc[0].to_dict() == {"item_id": "1", "title": "Movie 1, part 0 (1995)", "genres": "Action|Comedy"}
    with pytest.raises(ValueError, match="expected 100000 ratings"):
        load_ml100k(tmp_path, wheel)


# --- the bench, end to end ----------------------------------------------------------------------------------------


@pytest.mark.slow
def test_bench_runs_families_through_the_pipeline_and_writes_its_section(tmp_path) -> None:
    data = synthetic_movielens()
    report = run_benchmark(data, tmp_path / "work", families=("popularity", "ease"),
                           nightly_models=("popularity", "ease"), trials=2, minutes=0.5)
    assert [r.model for r in report.rows] == ["popularity", "ease"]
    for row in report.rows:
        assert 0 < row.metrics["users"] <= data.ratings["user_id"].nunique()
        assert 0 < row.coverage <= 1 and row.train_seconds >= 0 and row.score_seconds > 0
        assert row.defaults.keys() == row.metrics.keys()
    popularity, ease = report.rows
    assert popularity.tuning["trials"] == 1 and ease.tuning["trials"] == 2  # popularity has nothing to tune
    assert ease.metrics["ndcg@k"] > report.rows[0].metrics["ndcg@k"]  # taste groups: EASE beats popularity
    assert (tmp_path / "work" / "tuned" / "ease.best.json").exists()
    assert report.nightly is not None and report.champion["model"] in ("popularity", "ease")
    assert report.nightly.nightly_seconds >= sum(report.nightly_steps.values()) > 0

    # --skip-tune reuses the kept params.
    again = run_benchmark(data, tmp_path / "work", families=("ease",), nightly_models=(), tune=False)
    assert again.rows[0].params == ease.params and again.rows[0].metrics == ease.metrics

    out = tmp_path / "benchmarks.md"
    out.write_text("# Benchmarks\n\n## Scale\n\nthe other section\n")
    section = render(report, "2026-01-01", "2 CPU cores")
    write_section(out, section, START, END)
    write_section(out, section, START, END)  # replaces its own section, once
    text = out.read_text()
    assert text.count(START) == 1 and text.count(END) == 1
    assert text.startswith("# Benchmarks\n\n## Scale\n\nthe other section\n")
    assert "| BiVAE (Microsoft Recommenders) (reference) | 0.1436 | 0.4687 | 0.4082 | 0.2209 |" in text
    assert f"| ease | {ease.metrics['map']:.4f} |" in text


def test_write_section_creates_the_file_with_a_heading(tmp_path) -> None:
    out = tmp_path / "docs" / "benchmarks.md"
    write_section(out, f"{START}\nx\n{END}", START, END)
    assert out.read_text() == f"# Benchmarks\n\n{START}\nx\n{END}\n"
    write_section(out, f"{START}\ny\n{END}", START, END)
    assert out.read_text() == f"# Benchmarks\n\n{START}\ny\n{END}\n"


def test_default_params_are_the_search_space_at_the_defaults() -> None:
    def default_params(family: str) -> dict:
        return model_class(family).config_class.space_defaults()

    assert default_params("ease") == {"regularization": 250.0, "dropout": 0.0}
    assert default_params("popularity") == {}
    tower = default_params("two_tower")
    assert tower["epochs"] == 10 and tower["weight_decay"] == 1e-8  # 0 clipped into the log-scale range
    # A run with the clipped defaults is not the run with the defaults: the bench must not reuse its row.
    assert are_config_defaults("ease", default_params("ease"))
    assert not are_config_defaults("two_tower", tower)
    assert not are_config_defaults("ease", {"regularization": 413.0})


def test_step_timer_times_pipeline_steps_and_restores_them(monkeypatch) -> None:
    from jobs import steps

    monkeypatch.setattr(steps, "score_shard", lambda *args: "scored")
    patched = steps.score_shard
    with step_timer() as seconds:
        assert steps.score_shard() == "scored"
    assert steps.score_shard is patched and set(seconds) == {"score_shard"}
