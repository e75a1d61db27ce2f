"""The champion/challenger gate: its decisions as a pure function, and what a 'kept' decision serves."""

import json
from datetime import datetime

import numpy as np
import pandas as pd
import pytest

from jobs.config import load_settings
from jobs.layout import RunFiles
from jobs.steps import run_nightly
from jobs.train.gate import Reign, decide, lead_over_runner_up
from tests.support.warehouse import published, seed_ratings, taste_ratings


def test_first_run_crowns_the_best():
    d = decide("ndcg@10", Reign("ease", "r2", 0.30), None, 0.02)
    assert (d.decision, d.champion_model, d.champion_run_id) == ("first", "ease", "r2")


def test_better_challenger_is_promoted():
    d = decide("ndcg@10", Reign("ials", "r2", 0.33), Reign("ease", "r1", 0.30), 0.02)
    assert (d.decision, d.champion_model, d.champion_run_id) == ("promoted", "ials", "r2")
    assert "beats" in d.reason


def test_worse_within_tolerance_is_promoted():
    d = decide("ndcg@10", Reign("ials", "r2", 0.295), Reign("ease", "r1", 0.30), 0.02)
    assert (d.decision, d.champion_model) == ("promoted", "ials")
    assert "not worse than" in d.reason


def test_worse_beyond_tolerance_keeps_the_champion_artifact():
    d = decide("ndcg@10", Reign("ials", "r2", 0.25), Reign("ease", "r1", 0.30), 0.02)
    assert (d.decision, d.champion_model, d.champion_run_id, d.champion_value) == ("kept", "ease", "r1", 0.30)
    assert "beyond the 2% tolerance" in d.reason


def test_same_model_is_retained_with_tonights_artifact():
    d = decide("ndcg@10", Reign("ease", "r2", 0.31), Reign("ease", "r1", 0.30), 0.02)
    assert (d.decision, d.champion_run_id) == ("retained", "r2")


def test_reason_says_whether_the_lead_over_the_runner_up_is_beyond_the_noise(tmp_path):
    (tmp_path / "metrics").mkdir()
    rng = np.random.default_rng(0)
    base = rng.uniform(0, 1, 1000)  # per-user nDCG of the runner-up; the best adds a lead plus noise (sd 0.1)

    def write(model: str, values: np.ndarray) -> None:
        pd.DataFrame({"user_index": np.arange(1000), "ndcg@10": values}).to_parquet(RunFiles(tmp_path).per_user_file(model))

    write("ease", base)
    write("itemknn", base + 0.003 + rng.normal(0, 0.1, 1000))  # SE of the difference ~0.0032: ~1 SE
    write("ials", base + 0.05 + rng.normal(0, 0.1, 1000))  # ~16 SE
    close = lead_over_runner_up(RunFiles(tmp_path), "ndcg@10", [(0.503, "itemknn"), (0.5, "ease")])
    assert close.startswith("; itemknn leads ease by") and "within the noise" in close and "1000 users" in close
    clear = lead_over_runner_up(RunFiles(tmp_path), "ndcg@10", [(0.55, "ials"), (0.5, "ease")])
    assert "beyond the noise" in clear
    assert lead_over_runner_up(RunFiles(tmp_path), "ndcg@10", [(0.5, "ease")]) == ""  # no runner-up
    assert lead_over_runner_up(RunFiles(tmp_path), "ndcg@10", [(0.6, "bpr"), (0.5, "ease")]) == ""  # no per-user file


@pytest.mark.slow
def test_kept_champion_scores_with_its_old_artifact_and_new_users_fall_back(tmp_path):
    settings = load_settings(home=tmp_path).with_overrides(score={"top_n": 5}, publish={"keep_versions": 1})
    seed_ratings(settings, taste_ratings(days=20, start="2026-10-01"))
    first = run_nightly(settings.with_overrides(train={"models": ("ease", "popularity")}), run_id="night1", skip_ingest=True)
    assert first["champion"]["decision"] == "first" and first["champion"]["model"] == "ease"
    reason = published(settings, "select reason from champions where run_id = 'night1'")[0][0]
    assert "ease leads popularity by" in reason and "beyond the noise" in reason, reason
    # Only the winner is refitted on all data: the loser's refit would be thrown away.
    assert [p.name for p in (settings.layout.run("night1").root / "models").glob("*.pkl")] == ["ease.pkl"]
    assert "final_train_seconds" not in json.loads((settings.layout.run("night1").root / "metrics" / "popularity.json").read_text())

    # Night 2: new users arrive and only popularity is a candidate; on planted taste data it is far worse.
    newcomers = taste_ratings(n_users=10, days=1, seed=9, start="2026-10-22").assign(user_id=lambda f: "new" + f.user_id)
    seed_ratings(settings, newcomers, source="day2.csv")
    second = run_nightly(settings.with_overrides(train={"models": ("popularity",)}), run_id="night2", skip_ingest=True,
                         as_of=datetime(2026, 10, 23))
    assert second["champion"] == {**second["champion"], "model": "ease", "run_id": "night1", "decision": "kept"}
    assert not list((settings.layout.run("night2").root / "models").glob("*.pkl"))  # the kept champion's artifact scores

    by_model = dict(published(settings, "select model, count(distinct user_id) from recommendations group by model"))
    assert by_model["popularity"] == 10  # the newcomers, unknown to night 1's artifact
    assert by_model["ease"] == 120
    decision = published(settings, "select decision, reason from champions where run_id = 'night2'")[0]
    assert decision[0] == "kept" and "popularity" in decision[1]
    # Retention dropped night 1's version but kept its working folder: tonight's version scores with its artifact.
    assert not (settings.layout.versions / "recs-night1.duckdb").exists()
    assert (settings.layout.run("night1").root / "models" / "ease.pkl").exists()
