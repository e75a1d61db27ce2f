"""Mult-VAE (Liang et al. 2018, "Variational Autoencoders for Collaborative Filtering"): a variational autoencoder
over each user's whole history with a multinomial likelihood (torch; GPU when present).

    x_u  binary history row, L2-normalised, dropout on it while training
    encoder  x_u -> tanh(x_u W_1 + b_1) -> (mu, log var) of ``latent`` dims
    decoder  z -> tanh(z W_2 + b_2) -> logits over every item (W_3: one output row per item)
    loss     -sum_i x_ui log softmax(logits)_i  +  beta * KL(q(z | x_u) || N(0, I)), averaged over the batch

beta grows linearly from 0 to ``anneal_cap`` over the first ``total_anneal_steps`` updates and stays there (KL
annealing, as in the paper). The first layer gathers the weight rows of the items a user has (an embedding bag
over the batch's CSR rows), so no dense users x items copy of the data is ever made; the likelihood gathers the
log-softmax at the user's items likewise. Only the decoder's output is dense (batch x items).

Scoring folds a user's stored training history through the encoder's mean (no sampling) and returns the
decoder's logits. ``similar_items`` is the cosine between the decoder's item output rows (W_3).

Seeded: the weights are initialised under ``torch.random.fork_rng`` with the seed, the batch order comes from
the seeded numpy generator and the dropout masks and reparametrisation noise from a torch generator seeded
likewise, so two fits on the CPU with one seed give identical scores. Each epoch goes through
``options.epoch_done`` (the model is scorable then) with the epoch's mean loss; a True answer, or the deadline,
stops training there.
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
from models.ials import factor_cosine, unit_rows

#: Users scored at once inside ``score`` (bounds the hidden activations of a large request).
SCORE_CHUNK = 4096


@dataclass(frozen=True)
class VAEConfig(Config):
    #: Units of the encoder's and of the decoder's hidden tanh layer (the paper: 600).
    hidden: int = 600
    #: Dimensions of the latent code z (the paper: 200).
    latent: int = 200
    #: Dropout rate on the normalised input history while training (the paper: 0.5).
    dropout: float = 0.5
    #: Final weight beta of the KL term (the paper: 0.2; 1.0 ranked better on MovieLens-100K here).
    anneal_cap: float = 1.0
    #: Updates over which beta rises linearly from 0 to ``anneal_cap`` (0: ``anneal_cap`` from the start).
    total_anneal_steps: int = 400
    #: Passes over the users.
    epochs: int = 60
    #: Users per update.
    batch_size: int = 100
    #: Adam learning rate.
    learning_rate: float = 1e-3
    #: Adam weight decay (L2) on every parameter.
    weight_decay: float = 0.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), not {self.dropout}")
        if self.hidden < 1 or self.latent < 1 or self.batch_size < 1:
            raise ValueError("hidden, latent and batch_size must be positive")

    @classmethod
    def search_space(cls, trial: Any) -> dict[str, Any]:
        return {
            "hidden": trial.suggest_int("hidden", 100, 1000, log=True),
            "latent": trial.suggest_int("latent", 32, 400, log=True),
            "dropout": trial.suggest_float("dropout", 0.1, 0.8),
            "anneal_cap": trial.suggest_float("anneal_cap", 0.0, 1.5),
            "learning_rate": trial.suggest_float("learning_rate", 1e-4, 1e-2, log=True),
            "epochs": trial.suggest_int("epochs", 20, 300, log=True),
        }


class _VAE(nn.Module):
    """Encoder and decoder; the first layer's weight is an (items x hidden) table gathered by an embedding bag."""

    def __init__(self, n_items: int, hidden: int, latent: int) -> None:
        super().__init__()
        self.enc_in = nn.Parameter(torch.empty(n_items, hidden))
        self.enc_bias = nn.Parameter(torch.empty(hidden))
        self.enc_out = nn.Linear(hidden, 2 * latent)
        self.dec_hidden = nn.Linear(latent, hidden)
        self.dec_out = nn.Linear(hidden, n_items)
        # As in the paper's code: Xavier-uniform weights, biases N(0, 0.001^2).
        for weight in (self.enc_in, self.enc_out.weight, self.dec_hidden.weight, self.dec_out.weight):
            nn.init.xavier_uniform_(weight)
        for bias in (self.enc_bias, self.enc_out.bias, self.dec_hidden.bias, self.dec_out.bias):
            nn.init.normal_(bias, std=0.001)

    def encode(
        self, indices: torch.Tensor, offsets: torch.Tensor, values: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        first = F.embedding_bag(indices, self.enc_in, offsets, mode="sum", per_sample_weights=values)
        mu, logvar = self.enc_out(torch.tanh(first + self.enc_bias)).chunk(2, dim=1)
        return mu, logvar

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.dec_out(torch.tanh(self.dec_hidden(z)))


def normalised_bag(
    rows: sp.csr_matrix, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """(item indices, bag offsets, L2-normalised values, row of each entry) of the binary CSR ``rows`` on ``device``."""
    counts = np.diff(rows.indptr)
    values = np.repeat(1.0 / np.sqrt(np.maximum(counts, 1)), counts).astype(np.float32)
    entry_rows = np.repeat(np.arange(rows.shape[0], dtype=np.int64), counts)
    return (
        torch.from_numpy(rows.indices.astype(np.int64)).to(device),
        torch.from_numpy(rows.indptr[:-1].astype(np.int64)).to(device),
        torch.from_numpy(values).to(device),
        torch.from_numpy(entry_rows).to(device),
    )


class MultVAE(Recommender):
    """Variational autoencoder with a multinomial likelihood over items; scores are the decoder's logits."""

    name = "vae"
    config_class = VAEConfig

    def fit(self, data: Interactions, options: TrainOptions | None = None) -> Self:
        options = options or TrainOptions()
        cfg = self.config
        self.device = device = options.torch_device
        history = data.implicit()
        self.history = history
        self.n_users, self.n_items = history.shape
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(options.seed)
            net = _VAE(self.n_items, cfg.hidden, cfg.latent)
        self.net = net.to(device)
        optimizer = torch.optim.Adam(net.parameters(), lr=cfg.learning_rate, weight_decay=cfg.weight_decay)
        rng = options.generator()
        noise = torch.Generator(device=device).manual_seed(options.seed)
        active = np.flatnonzero(np.diff(history.indptr) > 0)  # users without history teach nothing
        keep = 1.0 - cfg.dropout
        step = 0
        self.epochs_run = 0
        for epoch in range(1, cfg.epochs + 1):
            net.train()
            total, batches = torch.zeros((), device=device), 0
            order = active[rng.permutation(len(active))]
            for lo in range(0, len(order), cfg.batch_size):
                indices, offsets, values, rows = normalised_bag(history[order[lo : lo + cfg.batch_size]], device)
                n = len(offsets)
                if cfg.dropout > 0:
                    mask = torch.rand(values.shape, generator=noise, device=device) < keep
                    values = values * mask / keep
                mu, logvar = net.encode(indices, offsets, values)
                std = torch.exp(0.5 * logvar)
                z = mu + std * torch.randn(std.shape, generator=noise, device=device)
                logp = F.log_softmax(net.decode(z), dim=1)
                neg_ll = -logp[rows, indices].sum() / n
                kl = 0.5 * (torch.exp(logvar) + mu * mu - 1.0 - logvar).sum() / n
                step += 1
                beta = (
                    cfg.anneal_cap * min(1.0, step / cfg.total_anneal_steps)
                    if cfg.total_anneal_steps > 0
                    else cfg.anneal_cap
                )
                loss = neg_ll + beta * kl
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                total += loss.detach()
                batches += 1
            net.eval()
            self.epochs_run = epoch
            if options.epoch_done(self, epoch, float(total) / max(batches, 1)):
                break
        net.eval()
        return self

    @torch.no_grad()
    def score(self, users: np.ndarray) -> torch.Tensor:
        users = np.asarray(users, dtype=np.int64)
        parts = []
        for lo in range(0, len(users), SCORE_CHUNK):
            indices, offsets, values, _ = normalised_bag(self.history[users[lo : lo + SCORE_CHUNK]], self.device)
            mu, _ = self.net.encode(indices, offsets, values)
            parts.append(self.net.decode(mu))
        if not parts:
            return torch.zeros((0, self.n_items), device=self.device)
        return torch.cat(parts) if len(parts) > 1 else parts[0]

    def similar_items(self, items: np.ndarray) -> torch.Tensor:
        with torch.no_grad():
            return factor_cosine(self.net.dec_out.weight.detach(), items)

    def unit_item_vectors(self) -> torch.Tensor:
        with torch.no_grad():
            return unit_rows(self.net.dec_out.weight.detach())

    def to(self, device: torch.device) -> Self:
        super().to(device)
        if getattr(self, "net", None) is not None:
            self.net.to(device)
        return self
