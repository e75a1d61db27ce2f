"""Every output check fails the release on the breach it guards: one small real release is built once, then each
case breaks a copy of it in one way and ``check_release`` must refuse it, naming the check. The intact copy
passes, with lists shortened by the user's history, exclusions and promoted slots (the counts
check_every_user has to get exactly right). The figures recorded for its lists are those of models.metrics on
the lists read by id."""

import shutil
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from jobs import steps, warehouse
from jobs.config import Placement, Settings, load_settings
from jobs.publish import release
from jobs.publish.release import OutputCheckError
from jobs.records import RunContext
from jobs.train.candidates import holdout
from jobs.train.snapshot import load_snapshot
from models.metrics import intra_list_diversity, item_vectors, novelty
from tests.support.warehouse import seed_ratings, taste_ratings

pytestmark = pytest.mark.slow

N_ITEMS = 60
GENRES = ("Comedy", "Drama", "Horror", "Western")  # blocks of 15 items: i0..i14 are comedies
AS_OF = datetime(2026, 10, 21)
PROMOTED = ("i1", "i2", "i3")  # comedies
#: u0 has rated every comedy but these; it is excluded from i13 (unrated) and i5 (rated: counts once).
U0_UNRATED_COMEDIES = ("i2", "i13", "i14")


@dataclass(frozen=True)
class World:
    settings: Settings
    run: RunContext
    target: Path  # the unchecked release check_release reads
    pristine: Path  # an intact copy of it


def _ratings() -> pd.DataFrame:
    frame = taste_ratings(n_users=120, n_items=N_ITEMS)
    u0 = frame["user_id"] == "u0"
    frame = frame[~(u0 & frame["item_id"].isin(U0_UNRATED_COMEDIES))]
    rated = set(frame.loc[frame["user_id"] == "u0", "item_id"])
    extra = [f"i{i}" for i in range(15) if f"i{i}" not in rated and f"i{i}" not in U0_UNRATED_COMEDIES]
    more = pd.DataFrame({"user_id": "u0", "item_id": extra, "rating": 4.0, "rated_at": pd.Timestamp("2026-10-05")})
    return pd.concat([frame, more], ignore_index=True)


def _land(settings: Settings, kind: str, frame: pd.DataFrame) -> None:
    folder = settings.landing_dir / kind
    folder.mkdir(parents=True, exist_ok=True)
    frame.to_csv(folder / f"{kind}.csv", index=False)


def _land_rules(settings: Settings) -> None:
    items = pd.DataFrame({"item_id": [f"i{i}" for i in range(N_ITEMS)], "title": [f"Item {i}" for i in range(N_ITEMS)],
                          "genres": [GENRES[i * len(GENRES) // N_ITEMS] for i in range(N_ITEMS)],
                          "available_from": "", "available_until": ""})
    items.loc[items["item_id"].isin(["i12", "i31"]), "available_until"] = "2026-10-15"  # withdrawn
    items.loc[items["item_id"] == "i32", "available_from"] = "2026-11-01"  # upcoming
    _land(settings, "items", items)
    _land(settings, "exclusions", pd.DataFrame({"user_id": ["", "u0", "u0", "nobody"],
                                                "item_id": ["i30", "i13", "i5", "i1"], "until": ""}))
    _land(settings, "promotions", pd.DataFrame({"item_id": list(PROMOTED), "from": "", "until": ""}))


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> World:
    settings = load_settings(home=tmp_path_factory.mktemp("checks")).with_overrides(
        score={"top_n": 5}, train={"models": ("ease",)})
    settings = replace(settings, placements=(
        Placement(), Placement(name="comedy", top_n=4, filter="genres like '%Comedy%'", promoted_slots=2)))
    seed_ratings(settings, _ratings())
    _land_rules(settings)
    given = {"settings": settings}
    steps.ingest_files(**given)
    run = steps.freeze_snapshot("night", **given, as_of=AS_OF)
    steps.evaluate_candidate(run, "ease", **given)
    champion = steps.fit_champion(run, steps.choose_champion(run, **given), **given)
    steps.popular_items(run, **given)
    steps.score_shard(run, champion, 0, **given)
    steps.similar_items(run, champion, **given)
    run = RunContext.from_xcom(run)
    with warehouse.connect(settings) as con:
        release.build_release(settings, run, con, datetime(2026, 10, 21, 1))
    target = settings.layout.unchecked_version(run.key)
    pristine = target.with_name("pristine.duckdb")
    shutil.copy(target, pristine)
    return World(settings, run, target, pristine)


def _check(world: World, *statements: str) -> dict:
    """check_release on a fresh copy of the release after ``statements`` changed it."""
    shutil.copy(world.pristine, world.target)
    con = duckdb.connect(str(world.target))
    try:
        for statement in statements:
            con.execute(statement)
    finally:
        con.close()
    return release.check_release(world.settings, world.run)


def _rated(user: str) -> list[str]:
    frame = _ratings()
    return sorted(frame.loc[frame["user_id"] == user, "item_id"])


def test_the_intact_release_passes_with_lists_cut_short_by_the_rules(world):
    assert _check(world)["checks_passed"] > 0
    con = duckdb.connect(str(world.pristine), read_only=True)
    try:
        u0 = con.execute("select item_id, promoted from placement_recommendations where user_id = 'u0' "
                         "order by rank").fetchall()
        short = con.execute("select count(*) from (select user_id from placement_recommendations "
                            "group by user_id having count(*) < 4)").fetchone()[0]
    finally:
        con.close()
    # u0's one organic comedy left (i14) and one promoted (i2): i5 is rated and excluded, and counts once.
    assert sorted(u0) == [("i14", False), ("i2", True)]
    assert short >= 1


def _figures_by_id(world: World) -> dict[tuple[str, str], float]:
    """The figures of the intact release's lists, computed from their ids with models.metrics."""
    snapshot = load_snapshot(world.settings.layout.run(world.run.key))
    data = snapshot.data
    # The night evaluated ease: the lists are judged on the embedding of the holdout's training ratings, the one
    # the holdout's ild used, not a second SVD of the whole snapshot.
    vectors = item_vectors(holdout(world.settings, snapshot).train.matrix)
    counts = np.diff(data.matrix.tocsc().indptr)
    item_index = pd.Series(np.arange(data.n_items), index=data.item_ids.astype(str))
    con = duckdb.connect(str(world.pristine), read_only=True)
    try:
        lists = con.execute("select 'default' as placement, user_id, rank, item_id, promoted from recommendations "
                            "union all select placement, user_id, rank, item_id, promoted "
                            "from placement_recommendations").df()
    finally:
        con.close()
    out = {}
    for placement in world.settings.placements:
        rows = lists[lists["placement"] == placement.name]
        users, position = np.unique(rows["user_id"], return_inverse=True)
        items = np.full((len(users), placement.length(world.settings.score.top_n)), -1)
        items[position, rows["rank"] - 1] = item_index.loc[rows["item_id"]].to_numpy()
        out |= {(placement.name, "ild"): np.nanmean(intra_list_diversity(items, vectors)),
                (placement.name, "novelty"): np.nanmean(novelty(items, counts, data.n_users)),
                (placement.name, "coverage"): rows["item_id"].nunique() / data.n_items,
                (placement.name, "lists"): len(users), (placement.name, "promoted_rows"): rows["promoted"].sum()}
    return out


def test_the_recorded_figures_are_the_models_measures_of_the_lists(world):
    with warehouse.connect(world.settings, read_only=True) as con:
        recorded = {(placement, metric): value for placement, metric, value in con.execute(
            "select placement, metric, value from model_metrics where run_id = $run_id and split = 'published'",
            {"run_id": world.run.run_id}).fetchall()}
    expected = _figures_by_id(world)
    assert expected[("comedy", "promoted_rows")] > 0 and expected[("default", "lists")] == 120
    for key, value in expected.items():
        assert recorded[key] == pytest.approx(value, rel=1e-6), key


ROW = "where user_id = 'u1' and rank = {rank}"
GHOST = ("insert into recommendations select 'ghost', {rank}, '{item}', 1.0, false, model, run_id, generated_at "
         "from recommendations limit 1")

#: A list for a user outside the snapshot with the given ranks, each with its own item (unknown to the snapshot).
LONG = ("insert into recommendations select 'ghost', r, 'x' || r, 1.0, false, model, run_id, generated_at "
        "from ({ranks}) as ranks(r), (select * from recommendations limit 1)")

#: (case, statements that break the release, the check that must name it, text its failure must show).
CASES = [
    ("list_missing", ["delete from recommendations where user_id = 'u1'"], "recommendations/check_every_user", ""),
    ("list_short", ["delete from recommendations " + ROW.format(rank=5)], "recommendations/check_every_user", ""),
    ("list_long", ["insert into recommendations select user_id, 6, 'i33', score, promoted, model, run_id, generated_at "
                   "from recommendations " + ROW.format(rank=5)], "recommendations/check_every_user", ""),
    ("placement_list_missing", ["delete from placement_recommendations where user_id = 'u1'"],
     "recommendations/check_every_user", "'placement': 'comedy'"),
    ("rank_gap", ["update recommendations set rank = 7 " + ROW.format(rank=5)], "check_ranks_contiguous", ""),
    ("rank_repeated", ["update recommendations set rank = 4 " + ROW.format(rank=5)], "check_ranks_contiguous", ""),
    ("ranks_from_zero", ["update placement_recommendations set rank = rank - 1 where user_id = 'u1'"],
     "check_ranks_contiguous", ""),
    ("ghost_rank_repeated", [GHOST.format(rank=1, item="i33"), GHOST.format(rank=1, item="i34")],
     "check_ranks_contiguous", "ghost"),
    ("rank_null", ["update recommendations set rank = null " + ROW.format(rank=3)], "check_ranks_contiguous", ""),
    ("ranks_all_null", ["update placement_recommendations set rank = null where user_id = 'u1'"],
     "check_ranks_contiguous", ""),
    ("rank_repeated_past_1024", [LONG.format(ranks="select r from range(1, 1024) as t(r) union all select 1025 "
                                                   "union all select 1025")], "check_ranks_contiguous", "'n_ranks': 1024"),
    ("item_twice", ["update recommendations set item_id = (select item_id from recommendations "
                    + ROW.format(rank=1) + ") " + ROW.format(rank=2)], "check_unique_items", ""),
    ("item_twice_in_placement", ["update placement_recommendations set item_id = (select item_id from "
                                 "placement_recommendations " + ROW.format(rank=1) + ") " + ROW.format(rank=2)],
     "check_unique_items", "'placement': 'comedy'"),
    ("unknown_item_twice", ["update recommendations set item_id = 'zzz' where user_id = 'u1' and rank <= 2"],
     "check_unique_items", "zzz"),
    ("item_null_twice", ["update recommendations set item_id = null where user_id = 'u1' and rank <= 2"],
     "check_unique_items", "'item_id': None"),
    ("ghost_item_twice", [GHOST.format(rank=1, item="i33"), GHOST.format(rank=2, item="i33")],
     "check_unique_items", "ghost"),
    ("score_nan", ["update recommendations set score = 'nan'::float " + ROW.format(rank=1)], "check_scores_finite", ""),
    ("score_inf", ["update recommendations set score = 'inf'::float " + ROW.format(rank=1)], "check_scores_finite", ""),
    ("score_null", ["update placement_recommendations set score = null " + ROW.format(rank=1)],
     "check_scores_finite", ""),
    ("promoted_null", ["update recommendations set promoted = null " + ROW.format(rank=1)], "check_scores_finite", ""),
    ("item_null", ["update recommendations set item_id = null " + ROW.format(rank=1)], "check_scores_finite", ""),
    ("user_null", ["update recommendations set user_id = null " + ROW.format(rank=1)], "check_scores_finite", ""),
    ("withdrawn_item", ["update recommendations set item_id = 'i31' " + ROW.format(rank=1)],
     "check_available_items", "i31"),
    ("upcoming_item", ["update placement_recommendations set item_id = 'i32' " + ROW.format(rank=1)],
     "check_available_items", "i32"),
    ("excluded_for_everyone", ["update placement_recommendations set item_id = 'i30' " + ROW.format(rank=1)],
     "check_no_excluded_items", "i30"),
    ("excluded_for_the_user", ["update recommendations set item_id = 'i13' where user_id = 'u0' and rank = 1"],
     "check_no_excluded_items", "i13"),
    ("seen_item", [f"update recommendations set item_id = '{_rated('u1')[0]}' " + ROW.format(rank=3)],
     "check_no_seen_items", _rated("u1")[0]),
    ("seen_item_in_placement", ["update placement_recommendations set item_id = 'i0' where user_id = 'u0' "
                                "and rank = 1"], "check_no_seen_items", "'placement': 'comedy'"),
    ("outside_the_filter", ["update placement_recommendations set item_id = 'i40' " + ROW.format(rank=1)],
     "check_placement_filter", "i40"),
    ("unknown_item", ["update recommendations set item_id = 'zzz' " + ROW.format(rank=1)],
     "check_placement_filter", "zzz"),
    ("promoted_item_not_promoted", ["update placement_recommendations set promoted = true where user_id = 'u1' "
                                    "and not promoted and rank = (select min(rank) from placement_recommendations "
                                    "where user_id = 'u1' and not promoted)"], "check_promoted_share", ""),
    ("promoted_in_the_default_placement", ["update recommendations set promoted = true " + ROW.format(rank=1)],
     "check_promoted_share", "'promoted_slots': 0"),
    ("promoted_over_the_slots", [f"update placement_recommendations set item_id = '{item}', promoted = true "
                                 f"where user_id = 'u5' and rank = {rank}" for rank, item in enumerate(PROMOTED, 1)]
     + ["update placement_recommendations set promoted = false where user_id = 'u5' and rank = 4"],
     "check_promoted_share", "'n_promoted': 3"),
    ("popular_empty", ["delete from popular_items"], "popular_items/check_not_empty", ""),
    ("popular_rank_gap", ["update popular_items set rank = rank + 1 where rank = (select max(rank) from popular_items)"],
     "popular_items/check_not_empty", ""),
    ("popular_excluded", ["update popular_items set item_id = 'i30' where rank = 1"], "popular_items/check_rules",
     "i30"),
    ("popular_withdrawn", ["update popular_items set item_id = 'i31' where rank = 1"], "popular_items/check_rules",
     "i31"),
    ("similar_to_itself", ["update similar_items set similar_item_id = item_id where rank = 1"],
     "similar_items/check_no_self", ""),
    ("similar_twice", ["insert into similar_items select * from similar_items limit 1"],
     "similar_items/check_no_self", ""),
    ("similar_excluded", ["update similar_items set similar_item_id = 'i30' where rank = 1 and item_id <> 'i30'"],
     "similar_items/check_rules", "i30"),
    ("similar_upcoming", ["update similar_items set similar_item_id = 'i32' where rank = 1 and item_id <> 'i32'"],
     "similar_items/check_rules", "i32"),
    ("monitoring_twice", ["insert into run_monitoring select * from run_monitoring limit 1"],
     "check_one_row_per_metric", ""),
    ("step_twice", ["insert into run_steps select * from run_steps limit 1"], "run_steps/check_times", ""),
    ("step_negative", ["update run_steps set seconds = -1 where step = 'popular_items'"], "run_steps/check_times", ""),
    ("step_ends_first", ["update run_steps set finished_at = started_at - interval 1 second "
                         "where step = 'popular_items'"], "run_steps/check_times", ""),
]


@pytest.mark.parametrize(("statements", "check", "shown"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_check_fails_the_release_it_guards_against(world, statements, check, shown):
    with pytest.raises(OutputCheckError) as failed:
        _check(world, *statements)
    failures = [line for line in str(failed.value).splitlines() if f"{check}:" in line]
    assert failures, str(failed.value)
    assert shown in failures[0], failures[0]
    assert not world.target.exists()  # a failed release is deleted, never made a version


def test_a_list_longer_than_the_rank_bits_is_judged_by_every_rank(world):
    """published_list_sizes counts ranks past 1024 apart: 1025 contiguous ranks are contiguous."""
    with pytest.raises(OutputCheckError) as failed:
        _check(world, LONG.format(ranks="select r from range(1, 1026) as t(r)"))
    names = {line.split(":")[0].strip() for line in str(failed.value).splitlines()[1:]}
    assert names == {"outputs/recommendations/check_placement_filter"}  # its items are unknown, nothing else
