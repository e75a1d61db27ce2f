"""The sample-data generator: files, determinism, and the realism the demo and benchmarks rely on."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from jobs.sample import items as sample_items
from jobs.sample.data import GENRES, SIZES, generate_items, generate_ratings, main, write_ratings_file, write_sample

END = date(2026, 11, 20)


@pytest.fixture(scope="module")
def landing(tmp_path_factory):
    """The demo landing folder with its default sizes (about half a second to write)."""
    path = tmp_path_factory.mktemp("landing")
    summary = write_sample(path, end_date=END)
    return path, summary


@pytest.fixture(scope="module")
def ratings(landing) -> pd.DataFrame:
    path, _ = landing
    frames = [pd.read_csv(f).assign(file=f.name) for f in sorted((path / "ratings").glob("*.csv"))]
    return pd.concat(frames, ignore_index=True)


def test_one_file_per_day_sorted_within_its_day(landing, ratings):
    path, summary = landing
    files = sorted(p.name for p in (path / "ratings").iterdir())
    days = [END - timedelta(days=41 - k) for k in range(42)]
    assert files == [f"ratings_{d:%Y-%m-%d}.csv" for d in days]
    assert (path / "ratings" / files[0]).read_text().splitlines()[0] == "user_id,item_id,rating,timestamp"
    assert summary["ratings_files"] == 42 and summary["rows"] == len(ratings) == 60_000
    assert summary["first_date"] == "2026-10-10" and summary["last_date"] == "2026-11-20"
    stamp_day = pd.to_datetime(ratings["timestamp"], unit="s", utc=True).dt.strftime("ratings_%Y-%m-%d.csv")
    assert (stamp_day == ratings["file"]).all()
    assert all(group["timestamp"].is_monotonic_increasing for _, group in ratings.groupby("file"))
    assert ratings.groupby("file").size().min() > 0


def test_demo_ratings_are_clean(ratings):
    assert not ratings.duplicated(["user_id", "item_id"]).any()
    assert set(ratings["rating"].unique()) <= {1, 2, 3, 4, 5}
    assert 3.2 < ratings["rating"].mean() < 3.8
    per_user = ratings.groupby("user_id").size()
    assert len(per_user) == 1000 and per_user.min() >= 5
    assert ratings["item_id"].between(1, 500).all()
    # Activity grows over the period: the last week is busier than the first.
    daily = ratings.groupby("file").size().to_numpy()
    assert daily[-7:].mean() > 1.3 * daily[:7].mean()


def test_same_seed_same_files_other_seed_other_files(landing, tmp_path):
    path, _ = landing
    write_sample(tmp_path / "again", end_date=END)
    write_sample(tmp_path / "other", end_date=END, seed=7)
    for name in ("ratings/ratings_2026-11-20.csv", "ratings/ratings_2026-10-10.csv", "items/items.csv"):
        assert (tmp_path / "again" / name).read_bytes() == (path / name).read_bytes()
    assert (tmp_path / "other" / "ratings/ratings_2026-11-20.csv").read_bytes() != (path / "ratings/ratings_2026-11-20.csv").read_bytes()


def test_popularity_and_activity_are_heavy_tailed(ratings):
    counts = np.sort(ratings.groupby("item_id").size().to_numpy())[::-1]
    # The demo is dense (12% of the matrix), which flattens the head; a sparser set shows the full tail.
    assert counts[: len(counts) // 10].sum() / counts.sum() > 0.25
    assert counts[0] > 5 * np.median(counts)
    sparse = generate_ratings(100_000, 2_000, 3_000, seed=3)
    counts = np.sort(sparse.groupby("item_id").size().to_numpy())[::-1]
    assert counts[:300].sum() / len(sparse) > 0.45
    users = np.sort(sparse.groupby("user_id").size().to_numpy())[::-1]
    assert users[:200].sum() / len(sparse) > 0.3


def _precision_at_10(scores: np.ndarray, seen: np.ndarray, truth: np.ndarray) -> float:
    scores = np.where(seen, -np.inf, scores)
    top = np.argsort(-scores, axis=1)[:, :10]
    hits = np.take_along_axis(truth, top, axis=1).sum(axis=1)
    return float((hits / np.minimum(10, truth.sum(axis=1))).mean())


def test_latent_taste_lets_collaborative_models_beat_popularity(ratings):
    """Time split (last 10% of ratings held out): item-kNN and a ridge item-item model (EASE) both beat
    popularity, the ridge model by a wide margin."""
    cut = ratings["timestamp"].quantile(0.9)
    train, test = ratings[ratings["timestamp"] < cut], ratings[ratings["timestamp"] >= cut]
    x = np.zeros((1001, 501), dtype=np.float32)
    x[train["user_id"], train["item_id"]] = 1.0
    truth = np.zeros_like(x, dtype=bool)
    truth[test["user_id"], test["item_id"]] = True
    users = np.flatnonzero(truth.any(axis=1) & x.any(axis=1))
    assert len(users) > 500
    seen, held = x[users] > 0, truth[users]

    popularity = np.broadcast_to(x.sum(axis=0), seen.shape)
    gram = x.T @ x
    norms = np.sqrt(np.diag(gram)) + 1e-9
    cosine = gram / norms[:, None] / norms[None, :]
    np.fill_diagonal(cosine, 0.0)
    cosine[cosine < np.sort(cosine, axis=1)[:, -20:-19]] = 0.0  # 20 nearest neighbours per item
    ridge = np.linalg.inv(gram + 50.0 * np.eye(len(gram)))
    ridge = -ridge / np.diag(ridge)
    np.fill_diagonal(ridge, 0.0)

    pop = _precision_at_10(popularity, seen, held)
    knn = _precision_at_10(x[users] @ cosine, seen, held)
    ease = _precision_at_10(x[users] @ ridge, seen, held)
    assert knn > 1.1 * pop, (knn, pop)
    assert ease > 1.3 * pop, (ease, pop)


def test_items_have_titles_genres_and_genre_words(landing):
    path, _ = landing
    items = pd.read_csv(path / "items" / "items.csv", keep_default_na=False)
    assert list(items.columns) == ["item_id", "title", "genres", "description", "available_from", "available_until"]
    assert items["item_id"].tolist() == list(range(1, 501))
    assert items["title"].str.fullmatch(r".+ \((19|20)\d\d\)").all()
    genres = items["genres"].str.split("|").explode()
    assert set(genres) <= set(GENRES) and genres.nunique() == 18
    assert items["description"].str.len().gt(40).all()
    # Descriptions use the words of the item's first genre, so text carries the taste structure.
    first = items["genres"].str.split("|").str[0]
    kind = first.map({g: sample_items._GENRE_TEXT[g][0] for g in GENRES})
    assert all(k in d for k, d in zip(kind, items["description"], strict=True))
    assert generate_items(500).equals(items.drop(columns=["available_from", "available_until"]))


def test_sample_rules_touch_a_few_items_and_users(landing):
    path, summary = landing
    items = pd.read_csv(path / "items" / "items.csv", keep_default_na=False)
    upcoming = items[items["available_from"] != ""]
    withdrawn = items[items["available_until"] != ""]
    assert len(upcoming) == 5 and (upcoming["available_from"] > END.isoformat()).all()
    assert len(withdrawn) == 5 and (withdrawn["available_until"] < END.isoformat()).all()
    exclusions = pd.read_csv(path / "exclusions" / "exclusions.csv", keep_default_na=False, dtype=str)
    assert list(exclusions.columns) == ["user_id", "item_id", "until"]
    assert (exclusions["user_id"] == "").sum() == 3 and len(exclusions) == summary["exclusions"] == 43
    expired = exclusions["until"].ne("") & (exclusions["until"] < END.isoformat())
    assert 0 < expired.sum() < len(exclusions) - 3
    promotions = pd.read_csv(path / "promotions" / "promotions.csv", dtype=str)
    assert list(promotions.columns) == ["item_id", "from", "until"] and len(promotions) == 8
    assert set(promotions["item_id"]).isdisjoint(exclusions.loc[exclusions["user_id"] == "", "item_id"])


def test_scale_generator_100k_preset():
    n_ratings, n_users, n_items = SIZES["100k"]
    frame = generate_ratings(n_ratings, n_users, n_items, days=30, seed=1)
    assert frame.shape == (100_000, 4)
    assert list(frame.columns) == ["user_id", "item_id", "rating", "timestamp"]
    assert {str(t) for t in frame.dtypes} == {"int64", "float64"} and frame["rating"].dtype == np.float64
    assert frame["user_id"].nunique() == n_users and frame["item_id"].nunique() > 0.9 * n_items
    assert frame.groupby("user_id").size().min() >= 5
    assert not frame.duplicated(["user_id", "item_id"]).any()
    assert set(np.unique(frame["rating"])) <= set(np.arange(1, 11) / 2)
    assert 3.3 < frame["rating"].mean() < 3.8
    first = datetime(2026, 10, 22, tzinfo=UTC).timestamp()
    assert frame["timestamp"].min() >= first and frame["timestamp"].max() < first + 30 * 86_400
    assert set(SIZES) >= {"1M", "5M", "20M"} and SIZES["20M"] == (20_000_000, 138_000, 27_000)


def test_write_ratings_file_parquet_and_csv(tmp_path):
    expected = generate_ratings(20_000, 300, 400, seed=5)
    info = write_ratings_file(tmp_path / "r.parquet", 20_000, 300, 400, seed=5)
    assert info["rows"] == 20_000
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "r.parquet"), expected)
    write_ratings_file(tmp_path / "r.csv", 20_000, 300, 400, seed=5)
    assert (tmp_path / "r.csv").read_text().startswith("user_id,item_id,rating,timestamp\n")
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "r.csv", dtype={"rating": "float64"}), expected)


def test_main_writes_a_small_landing_folder(tmp_path, capsys):
    argv = ["--landing", str(tmp_path), "--end-date", "2026-01-03", "--days", "3"]
    assert main([*argv, "--users", "50", "--items", "40", "--ratings", "600", "--seed", "1"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["rows"] == 600 and summary["ratings_files"] == 3
    assert sorted(p.name for p in (tmp_path / "ratings").iterdir()) == [
        "ratings_2026-01-01.csv",
        "ratings_2026-01-02.csv",
        "ratings_2026-01-03.csv",
    ]
    assert len(pd.read_csv(tmp_path / "items" / "items.csv")) == 40


def test_impossible_sizes_are_refused():
    with pytest.raises(ValueError, match="do not fit"):
        generate_ratings(10_000, 10, 100)
    with pytest.raises(ValueError, match="fewer than"):
        generate_ratings(5, 10, 100)
