"""Two-tower neural retriever with a small learned ranking stage (torch; GPU when present).

Retrieval (the towers)
    user tower: [user id embedding ; mean of the user's history item embeddings] -> linear -> L2-normalise
    item tower: item id embedding + linear(genre multi-hot) + linear(external embedding, optional) -> L2-normalise
    similarity: cosine / ``temperature``.
Training is one step per batch of (user, item) interactions with in-batch negatives: a softmax over the batch's
items for each user, the logits corrected by log q(item) (q = the item's share of interactions, the probability
that it shows up as an in-batch negative; Yi et al. 2019, "sampling-bias-corrected" retrieval), accidental hits
(the same item twice in a batch) masked. The history bag of a training pair leaves the pair's own item out (else
the tower learns "the target is in the history") and is a sample of ``history_samples`` of the user's other items,
so a batch costs the same for heavy and light users; scoring uses the whole history. Adam; seeded: the weights
are initialised under ``torch.random.fork_rng`` with the seed, batches come from a seeded generator, so two fits
on the CPU with one seed give identical scores.

Ranking (the re-ranker)
    Features of a (user, candidate) pair: the retrieval score, its rank among the user's candidates, the item's
    popularity and the user's activity (both relative to the mean, so they mean the same on a subsample), and the
    genre overlap (cosine between the user's genre profile and the item's genres).
    Model: logit = w * retrieval score + MLP(features), MLP's last layer initialised to zero, so an untrained
    ranker keeps the retrieval order and training can only move away from it where the data says so.
    Training data: each user's interactions are split at random (seeded; there are no timestamps here) into a
    fit part and a label part (``rerank_holdout``). Towers trained on the fit part retrieve the top
    ``rerank_candidates`` unseen items per user; the candidates in the label part are the positives, the other
    candidates the negatives ("held-out-like next items" vs what the retriever would also have shown). The loss
    is listwise: softmax over each user's candidates. Then the towers are retrained on all the data and serve
    with the ranker on top (so the towers train twice: the price of labels the retriever has not seen).
    ``score(users)`` keeps the (users x items) shape: the user's top candidates (unseen items) get the ranker's
    logit; every other item keeps its retrieval order, shifted per user to sit below the lowest candidate.

Epochs of the final training go through ``options.epoch_done`` (the model is scorable at that point: Optuna's
``validate`` can score it), reporting the mean in-batch softmax loss when there is no ``validate``; a True
answer stops training there. The ranker itself is small and trained once, full length.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Self

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F
from torch import nn

from models.base import Config, Interactions, Recommender, TrainOptions
from models.content import genre_matrix, load_item_embeddings
from models.labels import membership, random_holdout
from models.topk import mask_seen


@dataclass(frozen=True)
class TwoTowerConfig(Config):
    #: Width of the embeddings and of both towers' outputs.
    dim: int = 64
    #: Passes over the interactions.
    epochs: int = 10
    #: Interactions per training step; every other item in the batch is a negative for each user.
    batch_size: int = 1024
    #: Adam learning rate.
    learning_rate: float = 0.005
    #: Adam weight decay (L2) on every parameter.
    weight_decay: float = 0.0
    #: Softmax temperature: the cosine similarity is divided by it.
    temperature: float = 0.1
    #: History items sampled (with replacement) per training pair for the user tower's history mean.
    history_samples: int = 20
    #: Subtract log q(item) from the logits (in-batch sampling-bias correction).
    logq_correction: bool = True
    #: Optional Parquet of item_id + vector (e.g. text or image embeddings) fed to the item tower.
    item_embeddings_path: str | None = None
    #: Re-rank the top candidates with the learned ranker (False: retrieval scores only).
    rerank: bool = True
    #: Candidates per user that the ranker reorders.
    rerank_candidates: int = 50
    #: Fraction of each user's interactions held out as the ranker's labels.
    rerank_holdout: float = 0.2
    #: Passes of the ranker over its training users.
    rerank_epochs: int = 30
    #: Hidden units of the ranker's MLP.
    rerank_hidden: int = 32
    #: Most users the ranker trains on; a seeded sample beyond that bounds time and memory.
    rerank_max_users: int = 20000

    @classmethod
    def search_space(cls, trial: Any) -> dict[str, Any]:
        return {
            "dim": trial.suggest_categorical("dim", [32, 64, 128]),
            "epochs": trial.suggest_int("epochs", 5, 30),
            "batch_size": trial.suggest_categorical("batch_size", [512, 1024, 2048, 4096]),
            "learning_rate": trial.suggest_float("learning_rate", 1e-3, 3e-2, log=True),
            "weight_decay": trial.suggest_float("weight_decay", 1e-8, 1e-4, log=True),
            "temperature": trial.suggest_float("temperature", 0.02, 0.5, log=True),
            "history_samples": trial.suggest_int("history_samples", 5, 50, log=True),
            "rerank": trial.suggest_categorical("rerank", [True, False]),
        }


class _Towers(nn.Module):
    def __init__(self, n_users: int, n_items: int, n_genres: int, external_dim: int, dim: int) -> None:
        super().__init__()
        self.user = nn.Embedding(n_users, dim)
        self.history = nn.EmbeddingBag(n_items, dim, mode="sum")  # weights 1/n make it a mean
        self.user_out = nn.Linear(2 * dim, dim)
        self.item = nn.Embedding(n_items, dim)
        self.genre = nn.Linear(n_genres, dim, bias=False) if n_genres else None
        self.external = nn.Linear(external_dim, dim, bias=False) if external_dim else None
        for table in (self.user.weight, self.history.weight, self.item.weight):
            nn.init.normal_(table, std=0.1)

    def users(self, users: torch.Tensor, bag: torch.Tensor, offsets: torch.Tensor | None, weights: torch.Tensor) -> torch.Tensor:
        history = self.history(bag, offsets, per_sample_weights=weights)
        return F.normalize(self.user_out(torch.cat([self.user(users), history], dim=1)), dim=1)

    def items(self, items: torch.Tensor, genres: torch.Tensor, external: torch.Tensor) -> torch.Tensor:
        out = self.item(items)
        if self.genre is not None:
            out = out + self.genre(genres[items])
        if self.external is not None:
            out = out + self.external(external[items])
        return F.normalize(out, dim=1)


class _Ranker(nn.Module):
    """logit = w * standardised retrieval score + MLP(standardised features); starts as the retrieval order."""

    def __init__(self, n_features: int, hidden: int) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(n_features))
        self.register_buffer("std", torch.ones(n_features))
        self.retrieval_weight = nn.Parameter(torch.ones(()))
        self.mlp = nn.Sequential(nn.Linear(n_features, hidden), nn.ReLU(), nn.Linear(hidden, 1))
        nn.init.zeros_(self.mlp[2].weight)
        nn.init.zeros_(self.mlp[2].bias)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        x = (features - self.mean) / self.std
        return self.retrieval_weight * x[..., 0] + self.mlp(x).squeeze(-1)


class TwoTower(Recommender):
    name = "two_tower"
    config_class = TwoTowerConfig

    # --- training ---------------------------------------------------------------------------------------

    def fit(self, data: Interactions, options: TrainOptions | None = None) -> Self:
        options = options or TrainOptions()
        cfg = self.config
        self.device = device = options.torch_device
        self.n_users, self.n_items = data.matrix.shape
        genres, _ = genre_matrix(data)
        self.item_genres = torch.from_numpy(genres.toarray()).to(device)
        if cfg.item_embeddings_path:
            external, _ = load_item_embeddings(cfg.item_embeddings_path, data.item_ids)
        else:
            external = np.zeros((self.n_items, 0), dtype=np.float32)
        self.external = torch.from_numpy(external).to(device)
        history = data.implicit()
        self.ranker: _Ranker | None = None
        if cfg.rerank and history.nnz:
            rng = options.generator()
            fit_part, label_part = random_holdout(history, cfg.rerank_holdout, rng)
            users = np.flatnonzero(np.diff(label_part.indptr) > 0)
            if len(users) > cfg.rerank_max_users:
                users = np.sort(rng.choice(users, cfg.rerank_max_users, replace=False))
            self._train_towers(fit_part, options, report=False)
            if len(users):
                self._fit_ranker(fit_part, label_part, users, options)
        self._set_side(history)
        self._train_towers(history, options, report=True)
        return self

    def _train_towers(self, history: sp.csr_matrix, options: TrainOptions, report: bool) -> None:
        """Train fresh towers on ``history`` and set the user/item vectors; ``report``: after each epoch, through
        ``options.epoch_done`` (the model is scorable then; True from it stops training)."""
        cfg, device = self.config, self.device
        n_users, n_items = history.shape
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(options.seed)
            towers = _Towers(n_users, n_items, self.item_genres.shape[1], self.external.shape[1], cfg.dim).to(device)
        generator = torch.Generator().manual_seed(options.seed)
        optimizer = torch.optim.Adam(towers.parameters(), lr=cfg.learning_rate, weight_decay=cfg.weight_decay)
        counts = np.diff(history.indptr)
        indptr = torch.from_numpy(history.indptr.astype(np.int64))
        indices = torch.from_numpy(history.indices.astype(np.int64))
        rows = torch.repeat_interleave(torch.arange(n_users), torch.from_numpy(counts.astype(np.int64)))
        position = torch.arange(history.nnz) - indptr[rows]
        row_len = torch.from_numpy(counts.astype(np.int64))
        item_counts = np.bincount(history.indices, minlength=n_items).astype(np.float64)
        log_q = torch.from_numpy(np.log(np.maximum(item_counts, 1.0) / max(history.nnz, 1)).astype(np.float32)).to(device)
        all_items = torch.arange(n_items, device=device)
        for epoch in range(cfg.epochs):
            towers.train()
            total, steps = 0.0, 0
            order = torch.randperm(history.nnz, generator=generator)
            for lo in range(0, history.nnz, cfg.batch_size):
                pick = order[lo : lo + cfg.batch_size]
                users, items, target_at = rows[pick], indices[pick], position[pick]
                n = row_len[users]
                # Sample other history items: offsets in [0, n - 1), skipping the target's own position.
                draw = (torch.rand((len(pick), cfg.history_samples), generator=generator) * (n - 1).clamp(min=1)[:, None]).long()
                draw = draw + (draw >= target_at[:, None]).long()
                draw = torch.where(n[:, None] > 1, draw, torch.zeros_like(draw))
                bag = indices[indptr[users][:, None] + draw]
                weights = torch.where(n > 1, 1.0 / cfg.history_samples, 0.0)[:, None].expand_as(bag).float()
                users, items = users.to(device), items.to(device)
                u = towers.users(users, bag.to(device), None, weights.to(device))
                v = towers.items(items, self.item_genres, self.external)
                # The batch x batch logits dominate a step: scale the narrow user vectors instead, fold the log q
                # correction into the matmul, and mask in place.
                u = u / cfg.temperature
                logits = torch.addmm(-log_q[items][None, :], u, v.T) if cfg.logq_correction else u @ v.T
                clash = items[:, None] == items[None, :]
                clash.fill_diagonal_(False)
                logits.masked_fill_(clash, float("-inf"))
                loss = F.cross_entropy(logits, torch.arange(len(items), device=device))
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                total += float(loss.detach())
                steps += 1
            if report and options.report is not None and options.validate is not None:
                self._set_vectors(towers, history, all_items)  # validation scores the model as it is now
            if report and options.epoch_done(self, epoch + 1, total / max(steps, 1)):
                break
        self._set_vectors(towers, history, all_items)

    @torch.no_grad()
    def _set_vectors(self, towers: _Towers, history: sp.csr_matrix, all_items: torch.Tensor, chunk: int = 8192) -> None:
        """Precompute every user's and item's tower output (eval mode, whole history) for scoring."""
        towers.eval()
        self.item_vectors = towers.items(all_items, self.item_genres, self.external)
        parts = []
        for lo in range(0, history.shape[0], chunk):
            block = history[lo : lo + chunk]
            counts = np.diff(block.indptr)
            weights = np.repeat(1.0 / np.maximum(counts, 1), counts).astype(np.float32)
            users = torch.arange(lo, lo + block.shape[0], device=self.device)
            parts.append(
                towers.users(
                    users,
                    torch.from_numpy(block.indices.astype(np.int64)).to(self.device),
                    torch.from_numpy(block.indptr[:-1].astype(np.int64)).to(self.device),
                    torch.from_numpy(weights).to(self.device),
                )
            )
        self.user_vectors = torch.cat(parts) if parts else torch.zeros((0, self.config.dim), device=self.device)

    def retrieval_scores(self, users: np.ndarray) -> torch.Tensor:
        """Cosine / temperature of ``users`` against every item (the towers alone)."""
        idx = torch.from_numpy(np.asarray(users, dtype=np.int64)).to(self.device)
        return self.user_vectors[idx] @ self.item_vectors.T / self.config.temperature

    def _candidates(self, users: np.ndarray, history: sp.csr_matrix) -> tuple[torch.Tensor, torch.Tensor]:
        """(retrieval scores, top candidate item indices among unseen items) of ``users``."""
        scores = self.retrieval_scores(users)
        masked = scores.clone()
        mask_seen(masked, history, users)
        k = min(self.config.rerank_candidates, scores.shape[1])
        return scores, torch.topk(masked, k, dim=1).indices

    # --- ranking stage ----------------------------------------------------------------------------------

    def _set_side(self, history: sp.csr_matrix) -> None:
        """Per-user and per-item side quantities the ranker's features need, from ``history``."""
        n_users, n_items = history.shape
        nnz = max(history.nnz, 1)
        item_counts = np.bincount(history.indices, minlength=n_items).astype(np.float32)
        user_counts = np.diff(history.indptr).astype(np.float32)
        self.item_popularity = torch.from_numpy(np.log1p(item_counts * n_items / nnz)).to(self.device)
        self.user_activity = torch.from_numpy(np.log1p(user_counts * n_users / nnz)).to(self.device)
        genres = self.item_genres.cpu().numpy()
        profile = np.asarray(history @ genres, dtype=np.float32)
        self.user_genres = F.normalize(torch.from_numpy(profile), dim=1).to(self.device)
        self.item_genres_unit = F.normalize(self.item_genres, dim=1)
        self.history = history

    def _features(self, users: np.ndarray, scores: torch.Tensor, candidates: torch.Tensor) -> torch.Tensor:
        """(users, candidates, 5) features: retrieval score, log rank, item popularity, user activity, genre overlap."""
        idx = torch.from_numpy(np.asarray(users, dtype=np.int64)).to(self.device)
        n, k = candidates.shape
        rank = torch.log1p(torch.arange(k, device=self.device, dtype=torch.float32)).expand(n, k)
        overlap = (self.user_genres[idx][:, None, :] * self.item_genres_unit[candidates]).sum(-1)
        return torch.stack(
            [
                scores.gather(1, candidates),
                rank,
                self.item_popularity[candidates],
                self.user_activity[idx][:, None].expand(n, k),
                overlap,
            ],
            dim=-1,
        )

    def _fit_ranker(self, fit_part: sp.csr_matrix, label_part: sp.csr_matrix, users: np.ndarray, options: TrainOptions) -> None:
        cfg, device = self.config, self.device
        self._set_side(fit_part)
        features, labels = [], []
        with torch.no_grad():
            for lo in range(0, len(users), 2048):
                block = users[lo : lo + 2048]
                scores, candidates = self._candidates(block, fit_part)
                features.append(self._features(block, scores, candidates))
                labels.append(torch.from_numpy(membership(label_part, block, candidates.cpu().numpy())).to(device))
        x, y = torch.cat(features), torch.cat(labels)
        keep = y.sum(1) > 0  # users with no label item among their candidates teach a listwise loss nothing
        x, y = x[keep], y[keep]
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(options.seed)
            ranker = _Ranker(x.shape[-1], cfg.rerank_hidden).to(device)
        if len(x):
            flat = x.reshape(-1, x.shape[-1])
            ranker.mean.copy_(flat.mean(0))
            ranker.std.copy_(flat.std(0).clamp(min=1e-6))
            optimizer = torch.optim.Adam(ranker.parameters(), lr=0.01)
            generator = torch.Generator().manual_seed(options.seed)
            for _ in range(cfg.rerank_epochs):
                order = torch.randperm(len(x), generator=generator).to(device)
                for lo in range(0, len(x), 512):
                    pick = order[lo : lo + 512]
                    logp = F.log_softmax(ranker(x[pick]), dim=1)
                    target = y[pick] / y[pick].sum(1, keepdim=True)
                    loss = -(target * logp).sum(1).mean()
                    optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    optimizer.step()
        ranker.eval()
        self.ranker = ranker

    # --- scoring ----------------------------------------------------------------------------------------

    @torch.no_grad()
    def score(self, users: np.ndarray) -> torch.Tensor:
        users = np.asarray(users, dtype=np.int64)
        if self.ranker is None:
            return self.retrieval_scores(users)
        scores, candidates = self._candidates(users, self.history)
        ranked = self.ranker(self._features(users, scores, candidates))
        # Everything else keeps the retrieval order, shifted to sit just below the user's lowest candidate.
        shift = ranked.min(dim=1, keepdim=True).values - 1.0 - scores.max(dim=1, keepdim=True).values
        return (scores + shift).scatter_(1, candidates, ranked)

    def similar_items(self, items: np.ndarray) -> torch.Tensor:
        idx = torch.from_numpy(np.asarray(items, dtype=np.int64)).to(self.device)
        return self.item_vectors[idx] @ self.item_vectors.T

    def unit_item_vectors(self) -> torch.Tensor:
        return self.item_vectors  # already unit rows (the item tower normalises them)

    def to(self, device: torch.device) -> Self:
        super().to(device)
        if getattr(self, "ranker", None) is not None:
            self.ranker.to(device)
        return self
