"""Drift and run monitoring: run_monitoring, quarantine_reasons and run_steps on a two-night world whose shift is
known (night 1 rated 4-5 stars, night 2's interval 1-2 stars with a constructed share of new users and items)."""

import logging
from datetime import datetime

import numpy as np
import pandas as pd
import pytest

from jobs import steps, warehouse
from jobs.config import load_settings
from jobs.publish.release import OutputCheckError, current
from tests.support.warehouse import published, seed_ratings, taste_ratings

pytestmark = pytest.mark.slow

NIGHT1 = datetime(2026, 10, 21)  # night 1: every rating before this
NIGHT2 = datetime(2026, 10, 22)  # night 2's interval: [NIGHT1, NIGHT2)
N_OLD_USERS, N_NEW_USERS = 40, 10  # night 2: 2 ratings each
N_NIGHT2 = 2 * (N_OLD_USERS + N_NEW_USERS)  # 100 ratings
NEW_USER_SHARE = 2 * N_NEW_USERS / N_NIGHT2  # 0.2
NEW_ITEM_SHARE = N_NEW_USERS / N_NIGHT2  # 0.1: each new user's first rating is of a new item


def night1_ratings() -> pd.DataFrame:
    """120 users' taste ratings over 2026-10-01..20, all 4, 4.5 or 5 stars."""
    frame = taste_ratings(start="2026-10-01", days=20)
    frame["rating"] = np.resize([4.0, 4.5, 5.0, 5.0], len(frame))
    return frame


def night2_ratings(night1: pd.DataFrame) -> pd.DataFrame:
    """In night 2's interval, 1-2 stars: 40 known users rate 2 unrated items of their own taste block; 10 new users
    rate one new item (i60..i64) and one known item each."""
    rows, stamp = [], pd.Timestamp(NIGHT1)
    seen = night1.groupby("user_id").item_id.agg(set)
    for user in range(N_OLD_USERS):
        block = [f"i{i}" for i in range((user % 4) * 15, (user % 4 + 1) * 15)]
        fresh = [item for item in block if item not in seen[f"u{user}"]][:2]
        rows += [(f"u{user}", item, 1.0 + 0.5 * (k % 3), stamp + pd.Timedelta(minutes=user * 10 + k))
                 for k, item in enumerate(fresh)]
    for user in range(N_NEW_USERS):
        rows += [(f"n{user}", f"i{60 + user % 5}", 1.0, stamp + pd.Timedelta(hours=12, minutes=user)),
                 (f"n{user}", f"i{user}", 2.0, stamp + pd.Timedelta(hours=13, minutes=user))]
    frame = pd.DataFrame(rows, columns=["user_id", "item_id", "rating", "rated_at"])
    assert len(frame) == N_NIGHT2
    return frame


@pytest.fixture
def settings(tmp_path):
    s = load_settings(home=tmp_path).with_overrides(score={"top_n": 5}, train={"models": ("popularity", "ease")})
    night1 = night1_ratings()
    seed_ratings(s, night1, source="night1.csv")
    seed_ratings(s, night2_ratings(night1), source="night2.csv")
    return s


def monitoring(settings, run_id, source="run_monitoring"):
    rows = published(settings, f"select metric, value, threshold, breached, direction, note from {source} "
                               "where run_id = $run_id", {"run_id": run_id})
    return {r[0]: dict(zip(("value", "threshold", "breached", "direction", "note"), r[1:])) for r in rows}


def test_two_nights_measure_the_shift_and_publish_despite_a_breach(settings, caplog):
    steps.run_nightly(settings, run_id="night1", skip_ingest=True, as_of=NIGHT1)
    first = monitoring(settings, "night1")
    assert set(first) == {"psi_rating", "new_ratings", "new_user_share", "new_item_share", "churn", "gini", "coverage",
                          "fallback_users", "fallback_share"}
    assert first["psi_rating"]["value"] is None and "first publish" in first["psi_rating"]["note"]
    assert first["churn"]["value"] is None and "first publish" in first["churn"]["note"]
    assert first["new_user_share"]["value"] is None
    assert first["new_ratings"]["value"] == len(night1_ratings())
    assert not any(m["breached"] for m in first.values())

    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="recs.monitoring"):
        steps.run_nightly(settings, run_id="night2", skip_ingest=True, as_of=NIGHT2)
    tonight = monitoring(settings, "night2")
    psi = tonight["psi_rating"]
    assert psi["value"] > 0.2 and psi["threshold"] == 0.2 and psi["breached"] and psi["direction"] == "max"
    breach_logs = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and "psi_rating" in r.getMessage()]
    assert breach_logs and f"{psi['value']:.4f}" in breach_logs[0] and "0.2" in breach_logs[0]
    assert tonight["new_ratings"]["value"] == N_NIGHT2
    assert tonight["new_user_share"]["value"] == NEW_USER_SHARE and not tonight["new_user_share"]["breached"]
    assert tonight["new_item_share"]["value"] == NEW_ITEM_SHARE
    assert 0 <= tonight["churn"]["value"] <= 1 and "night1" in tonight["churn"]["note"]
    assert 0 <= tonight["gini"]["value"] <= 1 and tonight["gini"]["threshold"] == 0.95
    assert 0 < tonight["coverage"]["value"] <= 1 and tonight["coverage"]["direction"] == "min"
    assert tonight["fallback_users"]["value"] == 0 and tonight["fallback_share"]["value"] == 0
    # The breach warned; publishing went on (block_publish is off by default).
    assert current(settings)["run_id"] == "night2"
    assert published(settings, "select distinct run_id from recommendations") == [("night2",)]
    # The whole history, in DuckDB and in Parquet; the report marks the breach.
    assert published(settings, "select count(distinct run_id), count(*) from run_monitoring") == [(2, 18)]
    whole = settings.layout.parquet_whole("run_monitoring")
    assert published(settings, f"select count(*) from read_parquet('{whole}') where breached")[0][0] >= 1
    report = settings.layout.report("night2").read_text()
    monitoring_section = report.split("## Monitoring")[1].split("## ")[0]
    psi_line = next(line for line in monitoring_section.splitlines() if line.startswith("| psi_rating"))
    assert "**BREACHED**" in psi_line and "max 0.2" in psi_line
    assert "## Quarantine reasons" in report


def test_run_steps_has_a_row_per_step_with_its_seconds(settings):
    steps.run_nightly(settings, run_id="night1", skip_ingest=True, as_of=NIGHT1)
    steps.run_nightly(settings, run_id="night2", skip_ingest=True, as_of=NIGHT2)
    rows = published(settings, "select run_id, step, label, seconds, finished_at >= started_at from run_steps")
    by_run = {run: {(step, label) for r, step, label, *_ in rows if r == run} for run in ("night1", "night2")}
    scored = {("freeze_snapshot", None), ("evaluate_candidate", "popularity"), ("evaluate_candidate", "ease"),
              ("choose_champion", None), ("fit_champion", None), ("popular_items", None), ("score_shard", "0"),
              ("similar_items", None)}
    # night 2's steps up to its release; night 1's every step, the ones after its release build included.
    assert scored <= by_run["night2"] and not {s for s, _ in by_run["night2"]} & {"build_release", "publish"}
    assert scored | {("build_release", None), ("publish", None), ("write_report", None)} <= by_run["night1"]
    assert all(seconds > 0 and ordered for *_, seconds, ordered in rows)
    assert settings.layout.run("night2").step_file("score_shard", "0").exists()
    assert settings.layout.parquet_whole("run_steps").exists()


def test_block_publish_fails_the_run_on_a_breach_and_keeps_the_previous_version(settings):
    steps.run_nightly(settings, run_id="night1", skip_ingest=True, as_of=NIGHT1)
    blocking = settings.with_overrides(monitoring={"block_publish": True})
    with pytest.raises(OutputCheckError, match=r"psi_rating = [0-9.]+ > max 0.2 \(\[monitoring\] block_publish = true\)"):
        steps.run_nightly(blocking, run_id="night2", skip_ingest=True, as_of=NIGHT2)
    assert current(settings)["run_id"] == "night1"
    assert published(settings, "select distinct run_id from recommendations") == [("night1",)]
    assert not settings.layout.version("night2").exists()
    # The operator's force_publish overrides the block, as it does the quality gate.
    steps.run_nightly(blocking, run_id="night2", skip_ingest=True, as_of=NIGHT2, force_publish=True)
    assert current(settings)["run_id"] == "night2"
    assert monitoring(settings, "night2")["psi_rating"]["breached"]


def test_a_night_without_new_ratings_is_reported(settings, caplog):
    steps.run_nightly(settings, run_id="night1", skip_ingest=True, as_of=NIGHT1)
    with caplog.at_level(logging.WARNING, logger="recs.monitoring"):
        steps.run_nightly(settings, run_id="night1b", skip_ingest=True, as_of=NIGHT1)  # the same cut-off again
    tonight = monitoring(settings, "night1b")
    assert tonight["new_ratings"]["value"] == 0 and "no new ratings" in tonight["new_ratings"]["note"]
    assert tonight["psi_rating"]["value"] is None and "no ratings in tonight's interval" in tonight["psi_rating"]["note"]
    assert tonight["new_user_share"]["value"] is None
    assert tonight["churn"]["value"] is not None  # the lists are still compared with night 1's
    assert any("no new ratings" in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
    report = settings.layout.report("night1b").read_text()
    assert "no new ratings tonight" in report.split("## Monitoring")[1]


def test_quarantine_reasons_count_the_rows_quarantined_from_the_files_a_run_ingested(tmp_path):
    s = load_settings(home=tmp_path).with_overrides(score={"top_n": 5}, train={"models": ("popularity",)})
    night1 = night1_ratings()
    good = "".join(f"{r.user_id},{r.item_id},{r.rating},{int(r.rated_at.timestamp())}\n" for r in night1.itertuples())
    bad = ("u1,i1,9,1760000000\n"        # rating_out_of_range
           "u2,i2,7.5,1760000000\n"      # rating_out_of_range
           "u3,i3,abc,1760000000\n"      # non_numeric_rating
           ",i4,4,1760000000\n"          # missing_id
           "u5,i5,4,not-a-time\n")       # bad_timestamp
    folder = s.landing_dir / "ratings"
    folder.mkdir(parents=True)
    (folder / "night1.csv").write_text("user_id,item_id,rating,timestamp\n" + good + bad)
    steps.run_nightly(s, run_id="night1", as_of=NIGHT1)
    with warehouse.connect(s, read_only=True) as con:
        expected = con.execute("select reason, column_name, count(*) from quarantine group by all order by all").fetchall()
    rows = published(s, "select reason, column_name, n_rows from quarantine_reasons where run_id = 'night1' order by all")
    assert rows == expected and sum(n for *_, n in rows) == 5
    assert ("rating_out_of_range", "rating", 2) in rows
    assert published(s, "select rows_quarantined from runs where run_id = 'night1'") == [(5,)]
    report = s.layout.report("night1").read_text()
    assert "| rating_out_of_range | rating | 2 |" in report.split("## Quarantine reasons")[1]
