"""Hybrid: base fallback, the seeded holdout split, external embeddings as a ranker feature, scoring layout."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch

from models.base import Interactions, Recommender, TrainOptions
from models.hybrid import Hybrid, HybridConfig
from models.labels import fold_holdouts, membership, pairs_in, random_holdout
from models.popularity import Popularity
from tests.support.synthetic import make_synthetic, top_items_for_all

pytestmark = pytest.mark.usefixtures("one_thread")

OPTIONS = TrainOptions(seed=11, device="cpu")


def hidden_clusters(n_clusters: int = 8, cluster_size: int = 20, users_per_cluster: int = 30, seed: int = 0):
    """Users like one hidden cluster of items; item text and genres say nothing about it, and each user has only
    two interactions, so co-occurrence models learn little (the ranker trains on one item per user). Returns
    (data, held-out item per user, cluster per item)."""
    rng = np.random.default_rng(seed)
    n_items = n_clusters * cluster_size
    item_cluster = rng.permutation(np.repeat(np.arange(n_clusters), cluster_size))
    user_cluster = np.repeat(np.arange(n_clusters), users_per_cluster)
    rows, cols, held = [], [], []
    for user, cluster in enumerate(user_cluster):
        picks = rng.choice(np.flatnonzero(item_cluster == cluster), 3, replace=False)
        rows += [user, user]
        cols += list(picks[:2])
        held.append(picks[2])
    matrix = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(len(user_cluster), n_items))
    ids = np.array([f"i{i:03d}" for i in range(n_items)], dtype=object)
    features = pd.DataFrame({"title": [f"Item {i}" for i in range(n_items)], "genres": "Drama", "description": ""}, index=ids)
    users = np.array([f"u{u:03d}" for u in range(len(user_cluster))], dtype=object)
    return Interactions(matrix=matrix, user_ids=users, item_ids=ids, item_features=features), np.array(held), item_cluster


def write_vectors(path, item_ids: np.ndarray, vectors: np.ndarray) -> str:
    pd.DataFrame({"item_id": item_ids, "vector": list(vectors.astype(np.float32))}).to_parquet(path)
    return str(path)


@pytest.fixture(scope="module")
def synthetic():
    return make_synthetic()


@pytest.fixture(scope="module")
def model(synthetic) -> Hybrid:
    return Hybrid().fit(synthetic.train, OPTIONS)


def test_default_bases_and_hit_rate_beats_popularity(synthetic, model) -> None:
    assert model.base_names == ["ease", "itemknn", "content_tfidf", "popularity"]
    assert model.ranker is not None and 0 < model.train_positive_rate < 0.5
    baseline = synthetic.hit_rate(top_items_for_all(Popularity().fit(synthetic.train, OPTIONS), synthetic.train))
    ours = synthetic.hit_rate(top_items_for_all(model, synthetic.train))
    assert ours >= baseline + 0.5, (ours, baseline)


def test_missing_bases_fall_back_to_available(synthetic) -> None:
    train = synthetic.train
    bare = Interactions(matrix=train.matrix, user_ids=train.user_ids, item_ids=train.item_ids)
    hybrid = Hybrid(base_models=["no_such_model", "content_tfidf", "hybrid", "ease", "ease"])
    assert hybrid.config.base_models == ("no_such_model", "content_tfidf", "hybrid", "ease", "ease")
    assert hybrid.usable_bases(train) == ["content_tfidf", "ease"]
    assert hybrid.usable_bases(bare) == ["ease"]  # content needs item features
    assert Hybrid(base_models=["no_such_model"]).usable_bases(bare) == ["popularity"]


def test_scores_candidates_as_probabilities_and_the_rest_below(synthetic, model) -> None:
    train = synthetic.train
    users = np.arange(train.n_users)
    scores = model.score(users)
    assert scores.shape == (train.n_users, train.n_items) and scores.dtype == torch.float32
    candidate = scores >= 0
    assert (scores[candidate] <= 1).all() and (scores[~candidate] >= -2).all() and (scores[~candidate] <= -1).all()
    seen = torch.from_numpy(train.matrix.toarray() > 0)
    assert not (candidate & seen).any(), "seen items are never candidates"
    assert (candidate.sum(dim=1) >= 10).all()


def test_external_embeddings_change_rankings_when_they_carry_the_signal(tmp_path) -> None:
    data, held, item_cluster = hidden_clusters()
    rng = np.random.default_rng(1)
    signal = np.eye(8)[item_cluster] + 0.3 * rng.normal(size=(data.n_items, 8))
    noise = rng.normal(size=(data.n_items, 8))
    config = HybridConfig(base_models=("ease", "popularity"))

    def fit(path):
        return Hybrid(replace(config, item_embeddings_path=path)).fit(data, OPTIONS)

    def hit_rate(top):
        return float((top == held[:, None]).any(axis=1).mean())

    plain = fit(None)
    informed = fit(write_vectors(tmp_path / "signal.parquet", data.item_ids, signal))
    uninformed = fit(write_vectors(tmp_path / "noise.parquet", data.item_ids, noise))
    assert "embedding_match" in informed.feature_names and "embedding_match" not in plain.feature_names
    top_plain, top_informed, top_uninformed = (top_items_for_all(m, data) for m in (plain, informed, uninformed))
    assert (top_informed != top_plain).any(axis=1).mean() > 0.5, "the embedding feature reorders most lists"
    assert hit_rate(top_informed) >= hit_rate(top_plain) + 0.2, (hit_rate(top_informed), hit_rate(top_plain))
    assert hit_rate(top_uninformed) < hit_rate(top_plain) + 0.1  # noise vectors do not help


def test_items_without_vectors_are_missing_not_zero(tmp_path) -> None:
    data, _, item_cluster = hidden_clusters(users_per_cluster=5)
    some = np.arange(data.n_items) % 2 == 0
    path = write_vectors(tmp_path / "half.parquet", data.item_ids[some], np.eye(8)[item_cluster[some]])
    model = Hybrid(base_models=("popularity",), item_embeddings_path=path).fit(data, OPTIONS)
    rows, cols, features = model._candidate_features(np.arange(data.n_users))
    match = features[:, model.feature_names.index("embedding_match")]
    # Known only when the item has a vector and so does at least one item in the user's history.
    user_has = (data.matrix @ some.astype(np.float32)) > 0
    known = some[cols] & user_has[rows]
    assert np.isnan(match[~known]).all() and np.isfinite(match[known]).all() and known.any() and (~known).any()


def test_same_seed_same_scores_and_save_load(synthetic, model, tmp_path) -> None:
    users = np.arange(synthetic.train.n_users)
    loaded = Recommender.load(model.save(tmp_path / "hybrid.pkl"), device="cpu")
    assert loaded.base_names == model.base_names
    assert torch.equal(loaded.score(users), model.score(users))


def test_random_holdout_splits_each_user() -> None:
    rng = np.random.default_rng(0)
    dense = (rng.random((50, 40)) < 0.2) * rng.integers(1, 6, (50, 40))
    dense[0] = 0  # an empty user
    dense[1] = 0
    dense[1, 3] = 4  # a user with one interaction
    matrix = sp.csr_matrix(dense.astype(np.float32))
    fit, label = random_holdout(matrix, 0.25, np.random.default_rng(7))
    assert (fit + label != matrix).nnz == 0 and fit.multiply(label).nnz == 0
    counts, n_label = np.diff(matrix.indptr), np.diff(label.indptr)
    assert n_label[1] == 0 and np.diff(fit.indptr)[1] == 1
    many = counts >= 2
    assert (n_label[many] >= 1).all() and (n_label[many] < counts[many]).all()
    np.testing.assert_allclose(n_label[many], np.clip(np.rint(0.25 * counts[many]), 1, None))
    again, _ = random_holdout(matrix, 0.25, np.random.default_rng(7))
    assert (again != fit).nnz == 0


def test_pair_lookup() -> None:
    matrix = sp.csr_matrix(np.array([[0, 2, 0], [1, 0, 0], [0, 0, 0]], dtype=np.float32))
    assert pairs_in(matrix, np.array([0, 0, 1, 2, 1]), np.array([1, 2, 0, 2, 2])).tolist() == [True, False, True, False, False]
    assert membership(matrix, np.array([1, 0]), np.array([[0, 1], [1, 0]])).tolist() == [[1, 0], [1, 0]]


RANKERS = [("hgb", "binary"), ("lightgbm", "binary"), ("lightgbm", "lambdarank")]


@pytest.mark.parametrize(("ranker", "objective"), RANKERS)
def test_each_ranker_learns_a_signal_the_bases_miss(tmp_path, ranker, objective) -> None:
    if ranker == "lightgbm":
        pytest.importorskip("lightgbm")
    data, held, item_cluster = hidden_clusters()
    rng = np.random.default_rng(1)
    path = write_vectors(tmp_path / "signal.parquet", data.item_ids, np.eye(8)[item_cluster] + 0.3 * rng.normal(size=(data.n_items, 8)))
    config = HybridConfig(base_models=("ease", "popularity"), ranker=ranker, objective=objective)
    plain = Hybrid(config).fit(data, OPTIONS)
    informed = Hybrid(replace(config, item_embeddings_path=path)).fit(data, OPTIONS)
    assert informed.ranker_kind == ("hgb" if ranker == "hgb" else f"lightgbm-{objective}")

    def hit_rate(model):
        return float((top_items_for_all(model, data) == held[:, None]).any(axis=1).mean())

    assert hit_rate(informed) >= hit_rate(plain) + 0.2, (hit_rate(informed), hit_rate(plain))
    scores = informed.score(np.arange(data.n_users))
    candidate = scores >= 0
    assert (scores[candidate] <= 1).all() and (scores[~candidate] <= -1).all()
    assert not (candidate & torch.from_numpy(data.matrix.toarray() > 0)).any()


def test_lightgbm_missing_falls_back_to_hgb(synthetic, monkeypatch, caplog) -> None:
    monkeypatch.setitem(__import__("sys").modules, "lightgbm", None)  # `import lightgbm` raises ImportError
    model = Hybrid(base_models=("ease", "popularity"), ranker="lightgbm").fit(synthetic.train, OPTIONS)
    assert model.ranker_kind == "hgb" and "lightgbm does not import" in caplog.text
    assert type(model.ranker).__name__ == "HistGradientBoostingClassifier"


def test_ranker_and_objective_are_checked() -> None:
    with pytest.raises(ValueError, match="ranker"):
        HybridConfig(ranker="xgboost")
    with pytest.raises(ValueError, match="lambdarank"):
        HybridConfig(ranker="hgb", objective="lambdarank")
    with pytest.raises(ValueError, match="label_order"):
        HybridConfig(label_order="newest")


def test_agreement_features_count_nominations_and_best_rank(synthetic) -> None:
    model = Hybrid(base_models=("ease", "itemknn", "popularity"), candidates_per_model=10).fit(synthetic.train, OPTIONS)
    _, _, features = model._candidate_features(np.arange(synthetic.train.n_users))
    ranks = features[:, [model.feature_names.index(f"{b}_rank") for b in model.base_names]]
    count = features[:, model.feature_names.index("n_nominating")]
    best = features[:, model.feature_names.index("best_rank")]
    np.testing.assert_array_equal(count, (ranks <= 10).sum(axis=1))
    np.testing.assert_array_equal(best, ranks.min(axis=1))
    assert count.min() >= 1 and count.max() == 3 and best.min() == 1 and (best <= 10).all()


def test_fold_holdouts_label_each_interaction_once() -> None:
    rng = np.random.default_rng(0)
    dense = (rng.random((40, 30)) < 0.3) * rng.integers(1, 6, (40, 30))
    dense[0] = 0
    dense[0, 5] = 3  # a user with one interaction: never a label
    dense[1] = 0
    dense[1, [2, 7]] = 4  # two interactions, five folds: each a label once, never both at once
    matrix = sp.csr_matrix(dense.astype(np.float32))
    splits = fold_holdouts(matrix, 5, np.random.default_rng(3))
    assert len(splits) == 5
    labels = sum(label for _, label in splits)
    assert (labels != sp.csr_matrix(np.where(np.arange(40)[:, None] == 0, 0, dense).astype(np.float32))).nnz == 0
    for fit, label in splits:
        assert (fit + label != matrix).nnz == 0 and fit.multiply(label).nnz == 0
        assert (np.diff(fit.indptr)[np.diff(matrix.indptr) > 0] >= 1).all(), "every user keeps a fit interaction"
        assert np.diff(label.indptr)[0] == 0 and np.diff(label.indptr)[1] <= 1
    sizes = np.array([np.diff(label.indptr) for _, label in splits])
    assert (sizes.max(axis=0) - sizes.min(axis=0) <= 1).all(), "folds deal each user's interactions evenly"


def test_cross_fitting_trains_on_every_fold(synthetic) -> None:
    one = Hybrid(base_models=("ease", "popularity"), label_folds=1).fit(synthetic.train, OPTIONS)
    five = Hybrid(base_models=("ease", "popularity"), label_folds=5).fit(synthetic.train, OPTIONS)
    # Five folds label every interaction once; one 20 % split labels about a fifth of them.
    assert five.train_rows > 3 * one.train_rows
    assert five.ranker is not None and 0 < five.train_positive_rate < 0.5


def release_world(n_items: int = 300, n_users: int = 400, seed: int = 0):
    """Items are released over 300 days; each user, active at their own moment, rated 8 random back-catalogue
    items long before and, latest, 3 items released in the 30 days before that moment: what a user takes next
    is a recent release, which only time tells (the back catalogue co-occurs with nothing). Returns (data with
    timestamps, held-out item per user: another recent release)."""
    rng = np.random.default_rng(seed)
    release = rng.uniform(0, 300, n_items)
    rows, cols, days, held = [], [], [], []
    for user in range(n_users):
        moment = rng.uniform(120, 300)
        old = rng.choice(np.flatnonzero(release < moment - 60), 8, replace=False)
        new = rng.choice(np.flatnonzero((release < moment) & (release >= moment - 30)), 4, replace=False)
        rows += [user] * 11
        cols += [*old, *new[:3]]
        days += [*rng.uniform(moment - 60, moment - 40, 8), *np.sort(rng.uniform(moment - 5, moment, 3))]
        held.append(new[3])
    order = np.lexsort((cols, rows))
    rows, cols, days = np.array(rows)[order], np.array(cols)[order], np.array(days)[order]
    matrix = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(n_users, n_items))
    data = Interactions(matrix=matrix, user_ids=np.array([f"u{u}" for u in range(n_users)], dtype=object),
                        item_ids=np.array([f"i{i}" for i in range(n_items)], dtype=object),
                        rated_at=1.7e9 + days * 86400.0)
    return data, np.array(held)


def test_time_features_and_time_ordered_labels_find_what_only_time_tells(caplog) -> None:
    data, held = release_world()
    # Every item a candidate: the bases cannot nominate what only time tells, and the test is of the ranker.
    config = HybridConfig(base_models=("ease", "popularity"), candidates_per_model=300, label_order="time",
                          label_folds=3, label_fraction=0.3)
    timed = Hybrid(config).fit(data, OPTIONS)
    assert timed.feature_names[-3:] == ["item_recent_popularity", "item_age", "user_idle"]
    blind = Hybrid(replace(config, time_features=False)).fit(data, OPTIONS)
    assert "user_idle" not in blind.feature_names

    def hit_rate(model):
        return float((top_items_for_all(model, data) == held[:, None]).any(axis=1).mean())

    assert hit_rate(timed) >= hit_rate(blind) + 0.2, (hit_rate(timed), hit_rate(blind))
    # Labels drawn at random teach the ranker the back catalogue too: the latest ones teach what comes next.
    shuffled = Hybrid(replace(config, label_order="random")).fit(data, OPTIONS)
    assert hit_rate(timed) >= hit_rate(shuffled) + 0.08, (hit_rate(timed), hit_rate(shuffled))
    # Without timestamps there are no time features, and "time" labels are drawn at random, with a warning.
    untimed = replace(data, rated_at=None)
    model = Hybrid(config).fit(untimed, OPTIONS)
    assert "item_age" not in model.feature_names and "no timestamps" in caplog.text


def test_auto_labels_follow_the_protocol_the_fit_is_judged_by() -> None:
    from models.labels import fold_masks, time_masks

    data, _ = release_world(n_items=200, n_users=60)
    model = Hybrid()  # label_order "auto", 5 label folds
    for scope, expected in [("user", "time"), ("global", "time"), ("random", "random"), (None, "random")]:
        masks = model._label_masks(data, replace(OPTIONS, holdout_scope=scope), OPTIONS.generator())
        if expected == "time":
            want = time_masks(data.matrix, data.rated_at, 5, model.config.label_fraction)
        else:
            want = fold_masks(data.matrix, 5, OPTIONS.generator())
        assert all((a == b).all() and (c == d).all() for (a, c), (b, d) in zip(masks, want, strict=True)), scope
    untimed = model._label_masks(replace(data, rated_at=None), replace(OPTIONS, holdout_scope="user"), OPTIONS.generator())
    assert all((a == b).all() for (a, _), (b, _) in zip(untimed, fold_masks(data.matrix, 5, OPTIONS.generator()), strict=True))
