"""``python -m jobs.bench.validation_design``: which tuning validation ranks EASE/EDLAE settings as the test split does?

Benchmark (a)'s tuning picks EASE's lambda and EDLAE's dropout p on folds carved from the training part
(``holdout_scope = "random"``, ``holdout_stratify = "item"``, ``holdout_fraction``, ``tuning_folds``). The
oracle grid (``jobs.bench.ease_dropout``) shows cells up to +0.006 nDCG@10 above the tuned champion on the test
split, yet tuning's noise guard kept the defaults. This asks whether the folds can see that: for every cell of a
(lambda, p) grid, the mean nDCG@10 over the folds of each validation design (fraction x number of folds, the
pipeline's own ``random_split`` with seeds 42 + k, folds 1..n, the gate's fold 0 never used) beside the cell's
nDCG@10 on the test split. Per design: Spearman's rho between the fold mean and the test value over the cells,
the cell the design would pick, and that cell's test nDCG@10 against the best cell's (the regret).

The test split only scores; it chooses nothing here, and nothing here sets a default: the table says which
design to try, and a change of design must then be measured by the full benchmark (``make bench-quality``).
"""

from __future__ import annotations

import argparse
from itertools import product
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from jobs.bench.movielens import load_ml100k
from jobs.bench.protocols import ndcg_on_test_split
from jobs.bench.quality import microsoft_split
from models.base import Interactions, TrainOptions
from models.ease import EASE, EASEConfig
from models.evaluation import evaluate
from models.metrics import paired_difference
from models.splits import random_split

#: (holdout fraction, folds): the pipeline's default (recs.toml: 0.1, 3) and the alternatives measured.
DESIGNS = ((0.10, 3), (0.25, 3), (0.10, 10), (0.25, 10))
SEED = 42


def fold_values(data: Interactions, cells: list[tuple[float, float]], fraction: float,
                folds: int) -> list[list[np.ndarray]]:
    """[fold][cell] per-user nDCG@10 of each cell on folds 1..``folds`` of ``fraction`` (item-stratified draws)."""
    out = []
    for f in range(folds):
        split = random_split(data, fraction, "item", SEED, f + 1)
        out.append([evaluate(EASE(EASEConfig(regularization=r, dropout=p)).fit(split.train, TrainOptions()), split,
                             (10,))[0]["ndcg@10"].to_numpy() for r, p in cells])
    return out


def study(train: pd.DataFrame, test: pd.DataFrame, regularizations: list[float], dropouts: list[float]) -> dict:
    """The designs' rankings of the (lambda, p) cells, from folds of ``train``, against ``test``; and the paired
    per-user gain of each design's pick over EASE's defaults on its folds, as tuning's noise guard judges it."""
    data = Interactions.from_frame(train)
    cells = list(product(regularizations, dropouts))
    on_test = np.array([ndcg_on_test_split(EASE(EASEConfig(regularization=r, dropout=p)).fit(data, TrainOptions()),
                                           data, test) for r, p in cells])
    defaults = (EASEConfig.regularization, EASEConfig.dropout)
    if defaults not in cells:
        cells.append(defaults)
        on_test = np.append(on_test, ndcg_on_test_split(EASE(EASEConfig()).fit(data, TrainOptions()), data, test))
    folds = {fraction: fold_values(data, cells, fraction, max(n for f, n in DESIGNS if f == fraction))
             for fraction in sorted({f for f, _ in DESIGNS})}
    designs = []
    for fraction, n in DESIGNS:
        per_fold = folds[fraction][:n]
        mean = np.array([[float(np.mean(fold[c])) for fold in per_fold] for c in range(len(cells))]).mean(axis=1)
        pick = int(np.argmax(mean))
        gain = np.concatenate([fold[pick] - fold[cells.index(defaults)] for fold in per_fold])
        gain_mean, gain_se, _ = paired_difference(gain)
        designs.append({"fraction": fraction, "folds": n, "rho": float(spearmanr(mean, on_test).statistic),
                        "pick": cells[pick], "pick_validation": float(mean[pick]), "pick_test": float(on_test[pick]),
                        "gain": gain_mean, "gain_z": gain_mean / gain_se if gain_se > 0 else float("nan"),
                        "user_windows": len(gain)})
    best = int(np.argmax(on_test))
    return {"cells": cells, "test": on_test, "folds": folds, "designs": designs, "defaults": defaults,
            "defaults_test": float(on_test[cells.index(defaults)]), "best": cells[best],
            "best_test": float(on_test[best])}


def markdown(result: dict) -> str:
    lines = ["| validation design | Spearman rho (validation vs test, over cells) | picks lambda, p | its validation "
             "nDCG@10 | its test nDCG@10 | regret vs the best cell | its gain over the defaults on the folds (z) |",
             "|---|---:|---|---:|---:|---:|---:|"]
    for d in result["designs"]:
        (r, p) = d["pick"]
        lines.append(f"| {d['fraction']:g} of each item's ratings x {d['folds']} folds | {d['rho']:.3f} | {r:g}, {p:g} "
                     f"| {d['pick_validation']:.4f} | {d['pick_test']:.4f} | {result['best_test'] - d['pick_test']:.4f} "
                     f"| {d['gain']:+.4f} over {d['user_windows']} user-windows ({d['gain_z']:.2f}) |")
    (r, p), (dr, dp) = result["best"], result["defaults"]
    lines.append(f"\nBest cell on the test split (oracle): lambda {r:g}, p {p:g}, nDCG@10 {result['best_test']:.4f}; "
                 f"the defaults (lambda {dr:g}, p {dp:g}): {result['defaults_test']:.4f}; {len(result['cells'])} cells.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jobs.bench.validation_design", description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("outputs/bench-quality"), help="where the data is cached")
    parser.add_argument("--regularizations", default="50,100,150,250,500")
    parser.add_argument("--dropouts", default="0,0.25,0.5,0.67,0.75,0.85")
    args = parser.parse_args(argv)
    train, test = microsoft_split(load_ml100k(args.work / "cache").ratings)
    result = study(train, test, [float(v) for v in args.regularizations.split(",")],
                   [float(v) for v in args.dropouts.split(",")])
    print(markdown(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
