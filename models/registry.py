"""Model names as used in config, Params and tables, mapped to their classes (imported lazily: torch-heavy).

Importing this module is cheap (DAG files read ``MODELS`` at parse time); a class is imported when asked for.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from models.base import Recommender

MODELS: dict[str, str] = {
    "popularity": "models.popularity:Popularity",
    "ease": "models.ease:EASE",
    "itemknn": "models.itemknn:ItemKNN",
    "rp3beta": "models.rp3beta:RP3beta",
    "slim": "models.slim:SLIM",
    "ials": "models.ials:IALS",
    "bpr": "models.bpr:BPR",
    "biased_mf": "models.biased_mf:BiasedMF",
    "two_tower": "models.two_tower:TwoTower",
    "content_tfidf": "models.content:ContentTFIDF",
    "hybrid": "models.hybrid:Hybrid",
    "vae": "models.vae:MultVAE",
}


def available() -> list[str]:
    """Names whose module exists in this checkout."""
    names = []
    for name, target in MODELS.items():
        if importlib.util.find_spec(target.split(":")[0]) is not None:
            names.append(name)
    return names


def model_class(name: str) -> type[Recommender]:
    try:
        module, cls = MODELS[name].split(":")
    except KeyError:
        raise ValueError(f"unknown model {name!r}; known: {', '.join(available())}") from None
    return getattr(importlib.import_module(module), cls)


def build(name: str, params: dict | None = None) -> Recommender:
    """A fresh, untrained model ``name`` configured with ``params`` (config field values)."""
    cls = model_class(name)
    return cls(cls.config_class(**(params or {})))
