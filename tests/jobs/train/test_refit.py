"""The champion's refit on all data: iALS continues from its fit on the holdout's training part."""

import json
import logging

from jobs import steps
from jobs.config import load_settings
from jobs.records import RunContext
from models.base import Recommender
from tests.support.warehouse import seed_ratings, taste_ratings


def test_an_ials_champion_is_refitted_from_its_holdout_fit(tmp_path, caplog):
    params = {"factors": 8, "iterations": 6, "refit_iterations": 2}
    settings = load_settings(home=tmp_path).with_overrides(score={"top_n": 3}, train={"models": ("ials",)})
    settings.layout.best_params("ials").parent.mkdir(parents=True, exist_ok=True)
    settings.layout.best_params("ials").write_text(json.dumps({"model": "ials", "params": params}))
    seed_ratings(settings, taste_ratings(n_users=80, n_items=40))
    with caplog.at_level(logging.INFO, logger="recs.train"):
        night = steps.run_nightly(settings, run_id="night", skip_ingest=True)
    files = settings.layout.run(RunContext.from_xcom(night["run"]).key)
    record = json.loads(files.metrics_file("ials").read_text())
    assert record["params"]["refit_iterations"] == 2 and record["final_fit_from_holdout"] is True
    previous = Recommender.load(files.holdout_artifact("ials"))
    final = Recommender.load(files.artifact("ials"))
    assert previous.iterations_run == 6 and final.iterations_run == 2
    assert (previous.n_users, previous.n_items) == (final.n_users, final.n_items)
    assert any("from its fit on the training part" in r.getMessage() for r in caplog.records)
