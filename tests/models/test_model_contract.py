"""Runs the shared model contract (tests/model_contract.py) for every model in ``models.registry.available()``.

A model added to the registry is covered as soon as its module exists. Per-model settings go in ``OVERRIDES``:
class attributes of its contract class (``params`` for a quick fit, ``check_quality``, ``min_margin``) or a
``make_data`` function ``(self, synthetic) -> Interactions`` when it needs other training data.
"""

from __future__ import annotations

from typing import Any

from models import registry
from tests.support.model_contract import ModelContract

OVERRIDES: dict[str, dict[str, Any]] = {
    "popularity": {"check_quality": False},
    "ials": {"params": {"factors": 16, "iterations": 10, "alpha": 3.0, "regularization": 10.0}},
    "bpr": {"params": {"factors": 8, "epochs": 15, "batch_size": 128, "lr": 0.01, "reg": 0.01}},
    "biased_mf": {"params": {"factors": 8, "epochs": 30, "batch_size": 128, "lr": 0.03, "reg": 0.1}},
    # The defaults (600 hidden units) are sized for real catalogues: on 66 items the decoder rows stay near their
    # random start (similar-items AUC 0.69); a small net learns the blocks in a fraction of the time.
    "vae": {"params": {"hidden": 32, "latent": 8, "epochs": 30, "batch_size": 32, "total_anneal_steps": 50, "learning_rate": 0.01}},
}

for _name in registry.available():
    _cls_name = "TestContract_" + _name
    globals()[_cls_name] = type(_cls_name, (ModelContract,), {"model_name": _name, **OVERRIDES.get(_name, {})})
