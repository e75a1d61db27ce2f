"""``python -m jobs.bench.ease_dropout``: EASE's lambda against EDLAE's dropout p on benchmark (a)'s **test** split.

An oracle grid, not a result: it reads the test split that the pipeline never sees, to show what the dropout
option (``models.ease.EASEConfig.dropout``) can reach at best on MovieLens-100K under the Microsoft protocol
(per-item stratified 75/25, seed 42, top-10 with the user's training items removed). Nothing here may choose a
default or a tuned value; the quality benchmark's tuning, on the pipeline's own holdout, decides those. Each cell
is ``models.ease.EASE`` fitted on the whole train split and ranked by the shared top-N and scored with Microsoft's
metrics (``jobs.bench.protocols.metrics_on_test_split``). Prints a markdown table.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from jobs.bench.movielens import load_ml100k
from jobs.bench.protocols import metrics_on_test_split
from jobs.bench.quality import microsoft_split
from models.base import Interactions, TrainOptions
from models.ease import EASE, EASEConfig


def grid(work: Path, regularizations: list[float], dropouts: list[float]) -> list[dict[str, float]]:
    train, test = microsoft_split(load_ml100k(work / "cache").ratings)
    data = Interactions.from_frame(train)
    out = []
    for regularization in regularizations:
        for dropout in dropouts:
            model = EASE(EASEConfig(regularization=regularization, dropout=dropout)).fit(data, TrainOptions())
            out.append({"regularization": regularization, "dropout": dropout, **metrics_on_test_split(model, data, test)})
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jobs.bench.ease_dropout", description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("outputs/bench-quality"), help="where the data is cached")
    parser.add_argument("--regularizations", default="50,100,150,250,500")
    parser.add_argument("--dropouts", default="0,0.25,0.5,0.67,0.75,0.85")
    args = parser.parse_args(argv)
    cells = grid(args.work, [float(v) for v in args.regularizations.split(",")],
                 [float(v) for v in args.dropouts.split(",")])
    print("| lambda | p | nDCG@10 | MAP | P@10 | R@10 |\n|---:|---:|---:|---:|---:|---:|")
    for c in cells:
        print(f"| {c['regularization']:g} | {c['dropout']:g} | {c['ndcg@k']:.4f} | {c['map']:.4f} "
              f"| {c['precision@k']:.4f} | {c['recall@k']:.4f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
