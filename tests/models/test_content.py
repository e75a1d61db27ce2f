"""ContentTFIDF and the item side-data helpers in models/content.py (the shared contract covers the rest)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch

from models.base import Interactions, Recommender, TrainOptions
from models.content import ContentTFIDF, ContentTFIDFConfig, genre_matrix, item_frame, load_item_embeddings
from models.popularity import Popularity
from tests.support.synthetic import GENRES, THEMES, make_synthetic, top_items_for_all

pytestmark = pytest.mark.usefixtures("one_thread")

OPTIONS = TrainOptions(seed=3, device="cpu")


def with_cold_items(per_block: int = 1) -> tuple[Interactions, np.ndarray]:
    """The synthetic set plus ``per_block`` new items per block that nobody has rated yet; (data, block of each)."""
    synthetic = make_synthetic()
    train = synthetic.train
    blocks = np.repeat(np.arange(synthetic.n_groups), per_block)
    ids = np.array([f"new{n:03d}" for n in range(len(blocks))], dtype=object)
    features = pd.DataFrame(
        {
            "title": [f"{GENRES[b][0]} Premiere {n}" for n, b in enumerate(blocks)],
            "genres": [f"{GENRES[b][0]}|{GENRES[b][1]}" for b in blocks],
            "description": [THEMES[GENRES[b][0]] for b in blocks],
        },
        index=pd.Index(ids, name="item_id"),
    )
    matrix = sp.hstack([train.matrix, sp.csr_matrix((train.n_users, len(blocks)), dtype=np.float32)], format="csr")
    data = Interactions(
        matrix=matrix,
        user_ids=train.user_ids,
        item_ids=np.concatenate([train.item_ids, ids]),
        item_features=pd.concat([train.item_features, features]),
    )
    return data, blocks


@pytest.fixture(scope="module")
def synthetic():
    return make_synthetic()


@pytest.fixture(scope="module")
def model(synthetic) -> ContentTFIDF:
    return ContentTFIDF().fit(synthetic.train, OPTIONS)


def test_needs_item_features(synthetic) -> None:
    bare = Interactions(matrix=synthetic.train.matrix, user_ids=synthetic.train.user_ids, item_ids=synthetic.train.item_ids)
    with pytest.raises(ValueError, match="item features"):
        ContentTFIDF().fit(bare, OPTIONS)


def test_beats_popularity_on_held_out_hit_rate(synthetic, model) -> None:
    popularity = Popularity().fit(synthetic.train, OPTIONS)
    ours = synthetic.hit_rate(top_items_for_all(model, synthetic.train))
    baseline = synthetic.hit_rate(top_items_for_all(popularity, synthetic.train))
    assert ours >= baseline + 0.5, (ours, baseline)


def test_recommends_cold_items_to_the_right_users() -> None:
    data, cold_blocks = with_cold_items()
    synthetic = make_synthetic()
    model = ContentTFIDF().fit(data, OPTIONS)
    top = top_items_for_all(model, data)
    cold = synthetic.train.n_items + np.arange(len(cold_blocks))
    own_cold = cold[synthetic.user_group]  # one new item per block, block == group
    assert (top == own_cold[:, None]).any(axis=1).mean() >= 0.9
    # ... and never another group's new item ahead of the own group's one.
    scores = model.score(np.arange(data.n_users)).numpy()[:, cold]
    assert (scores.argmax(axis=1) == synthetic.user_group).all()


def test_similar_items_rank_same_genre_first(synthetic, model) -> None:
    blocks = synthetic.item_block
    items = np.flatnonzero(blocks >= 0)
    sims = model.similar_items(items)
    assert sims.shape == (len(items), synthetic.train.n_items) and sims.dtype == torch.float32
    sims = sims.numpy()
    sims[np.arange(len(items)), items] = -np.inf  # the item itself (the shared top-k masks it too)
    block_size = int((blocks == 0).sum())
    nearest = np.argsort(-sims, axis=1, kind="stable")[:, : block_size - 1]
    assert (blocks[nearest] == blocks[items][:, None]).all()
    # Cosines: 1 with itself, within [0, 1] otherwise (TF-IDF weights are non-negative).
    own = model.similar_items(items[:3]).numpy()
    np.testing.assert_allclose(own[np.arange(3), items[:3]], 1.0, rtol=1e-5)
    assert own.min() >= 0 and own.max() <= 1 + 1e-5


def test_features_aligned_by_item_id_not_row_order(synthetic, model) -> None:
    train = synthetic.train
    shuffled = train.item_features.sample(frac=1.0, random_state=0)
    data = Interactions(matrix=train.matrix, user_ids=train.user_ids, item_ids=train.item_ids, item_features=shuffled)
    again = ContentTFIDF().fit(data, OPTIONS)
    users = np.arange(10)
    torch.testing.assert_close(again.score(users), model.score(users))


def test_centred_weighting_pushes_disliked_genres_down(synthetic) -> None:
    """Each user rated two other-block items poorly: centred ratings turn them into negative evidence."""
    train = synthetic.train
    centred = ContentTFIDF(profile="mean", weighting="centred", popularity_exponent=0).fit(train, OPTIONS)
    binary = ContentTFIDF(profile="mean", weighting="binary", popularity_exponent=0).fit(train, OPTIONS)
    user = 0
    row = train.matrix[user]
    disliked = row.indices[row.data <= 2.0]
    disliked_blocks = np.unique(synthetic.item_block[disliked])
    in_disliked = np.flatnonzero(np.isin(synthetic.item_block, disliked_blocks))
    assert centred.score(np.array([user]))[0, in_disliked].max() < 0
    assert binary.score(np.array([user]))[0, in_disliked].min() > 0


def test_popularity_prior_scales_the_match_and_gives_cold_items_the_median() -> None:
    data, cold_blocks = with_cold_items()
    pure = ContentTFIDF(popularity_exponent=0).fit(data, OPTIONS)
    prior = ContentTFIDF(popularity_exponent=1).fit(data, OPTIONS)
    users = np.arange(data.n_users)
    counts = np.bincount(data.matrix.indices, minlength=data.n_items).astype(np.float32)
    rated = counts > 0
    expected = np.where(rated, 1 + counts, 1 + np.median(counts[rated]))
    match = pure.score(users).numpy()
    np.testing.assert_allclose(prior.score(users).numpy(), np.where(match > 0, match * expected, match), rtol=1e-5)


def test_learned_profile_is_each_users_ridge_regression(synthetic) -> None:
    """The CG solve against the normal equations, solved directly: (Y'Y + alpha Y_u'Y_u + lambda I) x = (1 + alpha) Y_u'1."""
    train = synthetic.train
    model = ContentTFIDF(profile_dims=16, profile_regularization=3.0, profile_alpha=2.0, profile_cg_steps=60).fit(train, OPTIONS)
    y = model.item_dense.numpy().astype(np.float64)
    assert y.shape == (train.n_items, 16)
    for user in (0, 7, 42):
        rated = train.matrix[user].indices
        a = y.T @ y + 2.0 * y[rated].T @ y[rated] + 3.0 * np.eye(16)
        b = 3.0 * y[rated].sum(axis=0)
        np.testing.assert_allclose(model.user_vectors[user].numpy(), np.linalg.solve(a, b), rtol=1e-3, atol=1e-4)


def test_learned_profile_ranks_better_than_the_mean_profile(synthetic) -> None:
    def hit_rate(profile: str) -> float:
        model = ContentTFIDF(profile=profile, popularity_exponent=0).fit(synthetic.train, OPTIONS)
        return synthetic.hit_rate(top_items_for_all(model, synthetic.train, k=5))

    assert hit_rate("learned") > hit_rate("mean")


def test_config_rejects_unknown_weighting() -> None:
    with pytest.raises(ValueError, match="weighting"):
        ContentTFIDFConfig(weighting="squared")
    with pytest.raises(ValueError, match="profile"):
        ContentTFIDFConfig(profile="median")


def test_missing_text_and_genres_are_tolerated() -> None:
    matrix = sp.csr_matrix(np.array([[1, 0, 0], [0, 1, 0]], dtype=np.float32))
    features = pd.DataFrame({"title": ["A", None, "C"], "genres": ["(no genres listed)", np.nan, "Drama"]}, index=["a", "b", "c"])
    data = Interactions(matrix=matrix, user_ids=np.array(["u", "v"], object), item_ids=np.array(["a", "b", "c"], object), item_features=features)
    model = ContentTFIDF(min_df=1).fit(data, OPTIONS)
    assert torch.isfinite(model.score(np.array([0, 1]))).all()
    frame = item_frame(data)
    assert list(frame.columns) == ["title", "genres", "description"] and frame.loc["b", "title"] == ""
    genres, names = genre_matrix(data)
    assert names == ["drama"] and genres.toarray().ravel().tolist() == [0, 0, 1]


def test_save_load_round_trip(synthetic, model, tmp_path) -> None:
    loaded = Recommender.load(model.save(tmp_path / "content.pkl"), device="cpu")
    users = np.arange(synthetic.train.n_users)
    assert torch.equal(loaded.score(users), model.score(users))
    assert torch.equal(loaded.similar_items(np.arange(5)), model.similar_items(np.arange(5)))


def test_load_item_embeddings_aligns_by_id(tmp_path) -> None:
    path = tmp_path / "emb.parquet"
    pd.DataFrame({"item_id": ["c", "a", "zzz"], "vector": [[0.0, 2.0], [3.0, 4.0], [1.0, 1.0]]}).to_parquet(path)
    vectors, present = load_item_embeddings(path, np.array(["a", "b", "c"], dtype=object))
    np.testing.assert_allclose(vectors, [[0.6, 0.8], [0.0, 0.0], [0.0, 1.0]], rtol=1e-6)
    assert present.tolist() == [True, False, True]
    pd.DataFrame({"item_id": ["a", "b"], "vector": [[1.0], [1.0, 2.0]]}).to_parquet(path)
    with pytest.raises(ValueError, match="different lengths"):
        load_item_embeddings(path, np.array(["a", "b"], dtype=object))


def test_item_similarities_do_not_depend_on_the_user_profiles(synthetic, model) -> None:
    """similar_items fits content with profile='mean' (jobs.score.similar.SIMILARITY_ONLY): same item view,
    without the per-user regressions."""
    from jobs.score.similar import SIMILARITY_ONLY

    data = synthetic.train
    light = ContentTFIDF(ContentTFIDFConfig(**SIMILARITY_ONLY["content_tfidf"])).fit(data, OPTIONS)
    assert model.config.profile == "learned" and light.user_vectors is None
    items = np.arange(data.n_items)
    assert torch.equal(light.similar_items(items), model.similar_items(items))
