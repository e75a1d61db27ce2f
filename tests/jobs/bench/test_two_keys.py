"""Benchmark (a) through the ``recs`` commands: a config of the two holdout keys only, each command its own
process, and the published table scored (the figures are the benchmark's; here the path end to end)."""

from __future__ import annotations

import json

import pytest

from jobs.bench.quality import microsoft_split
from jobs.bench.two_keys import TWO_KEYS, markdown, reproduce
from jobs.config import TrainSettings, load_settings
from tests.jobs.bench.test_quality import synthetic_movielens


@pytest.mark.slow
def test_the_commands_tune_run_and_publish_under_the_two_keys_alone(tmp_path) -> None:
    data = synthetic_movielens()
    train, test = microsoft_split(data.ratings)
    home = tmp_path / "home"

    result = reproduce(train, test, data.items, home, ["--trials", "1", "--minutes", "0.1"])

    assert (home / "recs.toml").read_text() == TWO_KEYS
    settings = load_settings(home=home, config=home / "recs.toml")
    assert (settings.train.holdout_scope, settings.train.holdout_stratify) == ("random", "item")
    assert [t["study"].split(":")[0] for t in result["tuned"]] == list(TrainSettings().models)
    champion = result["champion"]
    assert champion["model"] in TrainSettings().models
    kept = settings.layout.best_params(champion["model"])
    assert json.loads(kept.read_text())["params"] == champion["params"]  # the run trained what tuning kept
    assert 0 < result["metrics"]["ndcg@k"] <= 1 and result["metrics"]["users"] > 0
    text = markdown(result, None, "2026-01-01", "2 CPU cores")
    assert "| `recs` commands, the two keys only | " + champion["model"] in text
