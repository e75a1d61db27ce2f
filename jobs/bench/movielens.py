"""MovieLens-100K and the Microsoft Recommenders benchmark protocol, for ``jobs.bench.quality``.

Data. MovieLens-100K ships inside the ``recbole`` wheel on the package index, in RecBole's atomic format:
``recbole/dataset_example/ml-100k/ml-100k.inter`` (header ``user_id:token  item_id:token  rating:float
timestamp:float``, then the rows of ``u.data``) and ``ml-100k.item`` (``item_id  movie_title  release_year
class``, the class column being the genres separated by spaces). The wheel is fetched with ``pip download``
into a cache folder under ``outputs/`` and read with ``zipfile``: the data never enters the repository (its
licence forbids redistribution). ``load_ml100k`` checks 100,000 rows, 943 users, 1,682 items, and a sha256 of
the rows written back in ``u.data`` layout, which pins their order: the benchmark's split depends on it.

``write_landing`` puts the train split (u.data layout) and the items (CSV) where the pipeline's ingest reads them;
``score_recommendations`` scores the ``recommendations`` table the pipeline published.

Protocol (``examples/06_benchmarks`` of recommenders-team/recommenders):

- ``python_stratified_split(data, ratio=0.75, filter_by="item", seed=42)`` on the rows in ``u.data`` order:
  ``np.random.seed(42); data["random"] = np.random.rand(len(data))``, sort by (item, random), and each item's
  first 75 % of rows (``rank / count <= 0.75``, rank 1-based) are train, the rest test. Re-implemented here.
- top-10 per user with the user's training items removed; every held-out rating is relevant (no threshold).
- ``precision@k`` = hits / k; ``recall@k`` = hits / held-out items; ``ndcg@k`` with binary gains, DCG over
  the hits at their ranks, ideal DCG over min(held-out, k) hits; ``map`` = sum over hits of (hits so far /
  rank), divided by the user's number of held-out items (not min(., k): their ``map``, not ``map_at_k``).
  Each is summed over the users present in both the truth and the predictions and divided by their number
  (``merge_ranking_true_pred``); a user there without a hit counts 0. (Their current ``ndcg_at_k`` divides by
  all users of the truth instead; the benchmark recommends to every test user, so the two agree there.)
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from jobs.serving import open_published

log = logging.getLogger("recs.movielens")

RECBOLE_VERSION = "1.2.1"
WHEEL_NAME = f"recbole-{RECBOLE_VERSION}-py3-none-any.whl"
INTER_MEMBER = "recbole/dataset_example/ml-100k/ml-100k.inter"
ITEM_MEMBER = "recbole/dataset_example/ml-100k/ml-100k.item"
#: sha256 of the .inter rows written as u.data lines (``user\titem\trating\ttimestamp\n``, file order): 1,979,173
#: bytes, u.data's size. Compared with a public copy of u.data (a header line added, otherwise the same length):
#: its first ~800 rows, ~800 rows from row 50,702 and its last ~800 rows are these rows, in this order.
UDATA_SHA256 = "06416e597f82b7342361e41163890c81036900f418ad91315590814211dca490"
N_RATINGS, N_USERS, N_ITEMS = 100_000, 943, 1_682
#: The best row of their published MovieLens-100K table (BiVAE), the bar to beat.
REFERENCE = {"model": "BiVAE (Microsoft Recommenders)", "map": 0.1436, "ndcg@k": 0.4687, "precision@k": 0.4082,
             "recall@k": 0.2209}


@dataclass
class MovieLens:
    """Ratings in u.data order (user_id, item_id, rating, timestamp; ids as text) and items (item_id, title, genres)."""

    ratings: pd.DataFrame
    items: pd.DataFrame


def fetch_wheel(cache_dir: Path) -> Path:
    """The recbole wheel in ``cache_dir``, downloaded once with pip (no dependencies, binary only)."""
    wheel = cache_dir / WHEEL_NAME
    if not wheel.exists():
        cache_dir.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "pip", "download", f"recbole=={RECBOLE_VERSION}", "--no-deps",
               "--only-binary=:all:", "--disable-pip-version-check", "-d", str(cache_dir)]
        log.info("downloading %s into %s", WHEEL_NAME, cache_dir)
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    if not wheel.exists():
        raise FileNotFoundError(f"pip download did not leave {WHEEL_NAME} in {cache_dir}")
    return wheel


def parse_atomic(text: str) -> pd.DataFrame:
    """A RecBole atomic file (tab-separated, header ``name:type``) as strings, columns named without the type."""
    frame = pd.read_csv(io.StringIO(text), sep="\t", dtype=str, keep_default_na=False, quoting=3)
    frame.columns = [c.split(":")[0] for c in frame.columns]
    return frame


def udata_bytes(ratings: pd.DataFrame) -> bytes:
    """The ratings as u.data lines: ``user<TAB>item<TAB>rating<TAB>timestamp``, no header."""
    cols = ratings[["user_id", "item_id", "rating", "timestamp"]].astype(str)
    return ("\n".join(cols.agg("\t".join, axis=1)) + "\n").encode() if len(cols) else b""


def read_wheel(wheel: Path) -> MovieLens:
    """The ratings and items of the two atomic files in ``wheel``, unchecked; genres joined with '|'."""
    with zipfile.ZipFile(wheel) as zf:
        inter = parse_atomic(zf.read(INTER_MEMBER).decode("utf-8"))
        item = parse_atomic(zf.read(ITEM_MEMBER).decode("utf-8", errors="replace"))
    ratings = inter[["user_id", "item_id", "rating", "timestamp"]].reset_index(drop=True)
    year = item["release_year"].str.strip()
    items = pd.DataFrame({
        "item_id": item["item_id"],
        "title": item["movie_title"].str.strip() + np.where(year != "", " (" + year + ")", ""),
        "genres": item["class"].str.split().str.join("|").fillna(""),
    })
    return MovieLens(ratings=ratings, items=items)


def load_ml100k(cache_dir: Path, wheel: Path | None = None) -> MovieLens:
    """MovieLens-100K from the recbole wheel (fetched into ``cache_dir`` unless ``wheel`` is given), checked:
    100,000 ratings of 943 users on 1,682 items, in u.data's order (``UDATA_SHA256``)."""
    wheel = wheel or fetch_wheel(cache_dir)
    data = read_wheel(wheel)
    ratings = data.ratings
    shape = (len(ratings), ratings["user_id"].nunique(), ratings["item_id"].nunique())
    if shape != (N_RATINGS, N_USERS, N_ITEMS):
        raise ValueError(f"{wheel.name}: expected {N_RATINGS} ratings, {N_USERS} users, {N_ITEMS} items; found {shape}")
    digest = hashlib.sha256(udata_bytes(ratings)).hexdigest()
    if digest != UDATA_SHA256:
        raise ValueError(f"{wheel.name}: the ratings differ from u.data (sha256 {digest}, expected {UDATA_SHA256})")
    data.ratings = ratings.assign(rating=ratings["rating"].astype(float).astype(int),
                                  timestamp=ratings["timestamp"].astype(float).astype(int))
    return data


def write_landing(landing: Path, train: pd.DataFrame, items: pd.DataFrame) -> None:
    """The train split as ``ratings/ml100k-train.data`` (u.data layout, u.data's row order) and the items as
    ``items/ml100k-items.csv`` (item_id, title, genres): files the pipeline's ingest reads."""
    (landing / "ratings").mkdir(parents=True, exist_ok=True)
    (landing / "items").mkdir(parents=True, exist_ok=True)
    rows = train.sort_index()[["user_id", "item_id", "rating", "timestamp"]]
    rows.to_csv(landing / "ratings" / "ml100k-train.data", sep="\t", header=False, index=False)
    items[["item_id", "title", "genres"]].to_csv(landing / "items" / "ml100k-items.csv", index=False)


# --- the split ------------------------------------------------------------------------------------------


def python_stratified_split(data: pd.DataFrame, ratio: float = 0.75, filter_by: str = "user", seed: int = 42,
                            col_user: str = "user_id", col_item: str = "item_id") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Microsoft Recommenders' ``python_stratified_split`` with one float ratio and min_rating=1: (train, test).

    Per user (or item, ``filter_by``), rows are ordered by a uniform random draw made for the rows in their
    input order with the legacy global generator seeded with ``seed`` (``RandomState(seed)`` draws the same
    numbers); a row with 1-based position r among its group's n rows is train when r / n <= ratio.
    """
    if filter_by not in ("user", "item"):
        raise ValueError("filter_by should be either 'user' or 'item'.")
    if not 0 < ratio < 1:
        raise ValueError("Split ratio has to be between 0 and 1")
    by = col_user if filter_by == "user" else col_item
    data = data.copy()
    data["random"] = np.random.RandomState(seed).rand(len(data))
    data = data.sort_values([by, "random"])
    groups = data.groupby(by)
    position = (groups.cumcount() + 1) / groups[by].transform("count")
    data = data.drop(columns="random")
    return data[position <= ratio], data[(position > ratio) & (position <= 1.0)]


# --- the metrics ----------------------------------------------------------------------------------------


def ranking_metrics(truth: pd.DataFrame, recs: pd.DataFrame, k: int = 10, col_user: str = "user_id",
                    col_item: str = "item_id", col_rank: str = "rank") -> dict[str, float]:
    """Microsoft Recommenders' precision@k, recall@k, ndcg@k (binary) and map of ``recs`` against ``truth``.

    ``truth``: the held-out (user, item) rows, all relevant. ``recs``: (user, item, rank) with ranks 1, 2, ...
    per user; rows ranked beyond ``k`` are ignored. Users in both frames are the population.
    """
    common = np.intersect1d(truth[col_user].unique(), recs[col_user].unique())
    n_users = len(common)
    if n_users == 0:
        return {"map": 0.0, "ndcg@k": 0.0, "precision@k": 0.0, "recall@k": 0.0, "users": 0}
    truth = truth[truth[col_user].isin(common)][[col_user, col_item]]
    top = recs[recs[col_user].isin(common) & (recs[col_rank] <= k)][[col_user, col_item, col_rank]]
    actual = truth.groupby(col_user).size().rename("actual")
    hits = top.merge(truth, on=[col_user, col_item]).sort_values([col_user, col_rank])
    hits["nth_hit"] = hits.groupby(col_user).cumcount() + 1
    hits["dcg"] = 1.0 / np.log1p(hits[col_rank].to_numpy(dtype=float))
    hits["precision_at_hit"] = hits["nth_hit"] / hits[col_rank]
    per_user = hits.groupby(col_user).agg(hit=(col_item, "size"), dcg=("dcg", "sum"), ap=("precision_at_hit", "sum"))
    per_user = per_user.join(actual, how="left")
    ideal = np.concatenate(([0.0], np.cumsum(1.0 / np.log1p(np.arange(1, k + 1)))))
    idcg = ideal[np.minimum(per_user["actual"].to_numpy(), k)]
    return {
        "map": float((per_user["ap"] / per_user["actual"]).sum() / n_users),
        "ndcg@k": float((per_user["dcg"] / idcg).sum() / n_users),
        "precision@k": float((per_user["hit"] / k).sum() / n_users),
        "recall@k": float((per_user["hit"] / per_user["actual"]).sum() / n_users),
        "users": int(n_users),
    }


def score_recommendations(serving_path: Path, train: pd.DataFrame, test: pd.DataFrame, k: int = 10) -> tuple[dict[str, float], float]:
    """(``ranking_metrics``, catalogue coverage) of the ``recommendations`` table published at ``serving_path``.

    Coverage: distinct items recommended / items in ``train``. Fails if a user is recommended one of their
    training items (the protocol removes them).
    """
    with contextlib.closing(open_published(serving_path)) as con:
        recs = con.execute("select user_id, item_id, rank from recommendations order by user_id, rank").df()
    seen = recs.merge(train[["user_id", "item_id"]], on=["user_id", "item_id"])
    if len(seen):
        raise AssertionError(f"{len(seen)} published recommendations are training items of their user")
    missing = set(test["user_id"]) - set(recs["user_id"])
    if missing:
        log.warning("%d test users have no published recommendations", len(missing))
    return ranking_metrics(test, recs, k), recs["item_id"].nunique() / train["item_id"].nunique()
