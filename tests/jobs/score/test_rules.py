"""Business rules on a seeded world, through the real pipeline: rule files land, are ingested, and every published
list obeys them, filled to its length; the output checks catch a list that does not."""

from dataclasses import replace

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from jobs import steps
from jobs.config import Placement, load_settings
from jobs.publish.release import OutputCheckError
from jobs.records import RunContext
from jobs.score.rules import PlacementFilterError, load_rules
from tests.support.warehouse import published, seed_ratings, taste_ratings

pytestmark = pytest.mark.slow

N_ITEMS = 60
#: The world's blocks of 15 items each have a genre; items of block 0 are comedies.
GENRES = ("Comedy", "Drama", "Horror", "Western")
AS_OF = "2026-10-21 00:00:00"  # the cut-off of the runs below (taste_ratings spans 2026-10-01 .. 10-20)


def _land(settings, kind: str, frame: pd.DataFrame, name: str) -> None:
    folder = settings.landing_dir / kind
    folder.mkdir(parents=True, exist_ok=True)
    frame.to_csv(folder / name, index=False)


def _items(**windows: dict[str, str]) -> pd.DataFrame:
    """The catalogue with genres by block; ``windows`` maps an item id to its available_from/_until."""
    frame = pd.DataFrame({"item_id": [f"i{i}" for i in range(N_ITEMS)], "title": [f"Item {i}" for i in range(N_ITEMS)],
                          "genres": [GENRES[i * len(GENRES) // N_ITEMS] for i in range(N_ITEMS)],
                          "available_from": "", "available_until": ""})
    for item, window in windows.items():
        for column, value in window.items():
            frame.loc[frame["item_id"] == item, column] = value
    return frame


@pytest.fixture
def settings(tmp_path):
    s = load_settings(home=tmp_path).with_overrides(score={"top_n": 5}, train={"models": ("ease",)})
    s = replace(s, placements=(Placement(), Placement(name="comedy", top_n=4, filter="genres like '%Comedy%'",
                                                     promoted_slots=2)))
    seed_ratings(s, taste_ratings(n_users=120, n_items=N_ITEMS))
    return s


def lists(settings, table: str = "recommendations", where: str = "true") -> pd.DataFrame:
    rows = published(settings, f"select user_id, rank, item_id, promoted from {table} where {where}")
    return pd.DataFrame(rows, columns=["user_id", "rank", "item_id", "promoted"])


def rated(settings) -> set[tuple[str, str]]:
    frame = taste_ratings(n_users=120, n_items=N_ITEMS)
    return set(zip(frame["user_id"], frame["item_id"]))


def test_rules_remove_items_before_the_top_n_and_lists_stay_full(settings):
    _land(settings, "items", _items(), "items.csv")
    steps.run_nightly(settings, run_id="before")
    before = lists(settings)
    popular = before["item_id"].value_counts().index[:3].tolist()
    withdrawn, upcoming = before["item_id"].value_counts().index[3:5].tolist()
    user_lists = before[before["user_id"] == "u0"]["item_id"].tolist()
    forever, expired, running = user_lists[0], user_lists[1], user_lists[2]
    _land(settings, "items", _items(**{withdrawn: {"available_until": "2026-10-15"},
                                       upcoming: {"available_from": "2026-11-01"},
                                       popular[1]: {"available_from": "2026-10-01", "available_until": "2026-12-01"}}),
          "items-2.csv")
    _land(settings, "exclusions", pd.DataFrame({
        "user_id": ["", "u0", "u0", "u0", "nobody"],
        "item_id": [popular[0], forever, expired, running, "i1"],
        "until": ["", "", "2026-10-20", "2026-10-30T12:00:00", ""],
    }), "exclusions.csv")
    result = steps.run_nightly(settings, run_id="after")

    after = lists(settings)
    assert popular[0] not in set(after["item_id"])  # excluded for everyone
    assert {withdrawn, upcoming}.isdisjoint(set(after["item_id"]))  # outside their availability windows
    assert popular[1] in set(after["item_id"])  # inside its window
    mine = after[after["user_id"] == "u0"]["item_id"].tolist()
    assert forever not in mine and running not in mine  # per-user, forever and until a later day
    assert expired in mine  # its until passed before the cut-off
    others = after[(after["user_id"] != "u0") & (after["item_id"] == forever)]
    assert len(others) > 0 or forever == popular[0]  # the per-user exclusion touches u0 only
    # Filtered before the top-N: every user still gets 5 unseen items.
    assert (after.groupby("user_id").size() == 5).all() and after["user_id"].nunique() == 120
    assert not set(zip(after["user_id"], after["item_id"])) & rated(settings)
    # The fallback and the similar-items lists obey the rules for everyone too.
    for table, column in (("popular_items", "item_id"), ("similar_items", "similar_item_id")):
        shown = {r[0] for r in published(settings, f"select {column} from {table}")}
        assert {popular[0], withdrawn, upcoming}.isdisjoint(shown), table
    # Ids the snapshot does not know are counted (in the log and the report), not errors.
    run = RunContext.from_xcom(result["run"])
    counts = load_rules(settings.layout.run(run.key), settings.placements, run.as_of, (120, N_ITEMS)).counts
    assert counts["exclusions_unknown_user"] == 1 and counts["global_exclusions"] == 1
    assert counts["user_exclusions"] == 3 and counts["items_unavailable"] == 2  # in force: the expired one is not
    assert "exclusions_unknown_user" in settings.layout.report(run.key).read_text()
    assert result["tables"]["placement_recommendations"] > 0


def test_a_genre_placement_holds_only_its_genre_with_promotions_within_their_share(settings):
    _land(settings, "items", _items(), "items.csv")
    promoted = ["i1", "i2", "i3", "i20"]  # three comedies and one drama
    _land(settings, "promotions", pd.DataFrame({"item_id": promoted, "from": ["2026-10-01", "", "", ""],
                                                 "until": ["", "", "", "2026-10-10"]}), "promotions.csv")
    steps.run_nightly(settings, run_id="night")

    comedy = lists(settings, "placement_recommendations", "placement = 'comedy'")
    genres = dict(zip(_items()["item_id"], _items()["genres"]))
    assert comedy["item_id"].map(genres).eq("Comedy").all()
    assert comedy["user_id"].nunique() == 120
    seen = rated(settings)
    unseen_promoted = {u: sum((u, p) not in seen for p in ("i1", "i2", "i3")) for u in comedy["user_id"].unique()}
    per_user = comedy.groupby("user_id")["promoted"].sum()
    # Exactly the user's share: two slots, or fewer when fewer promoted comedies are unseen; i20 is no comedy and
    # its promotion ended before the cut-off.
    assert all(per_user[u] == min(2, n) for u, n in unseen_promoted.items())
    assert set(comedy.loc[comedy["promoted"], "item_id"]) <= {"i1", "i2", "i3"}
    # Filled to 4 unless the user has fewer comedies left to see (promoted ones counting up to their share).
    comedies = [item for item, genre in genres.items() if genre == "Comedy"]
    organic = {u: sum((u, c) not in seen for c in comedies if c not in promoted) for u in unseen_promoted}
    sizes = comedy.groupby("user_id").size()
    assert all(sizes[u] == min(4, organic[u] + min(2, unseen_promoted[u])) for u in unseen_promoted)
    assert (sizes < 4).sum() <= 2
    # The default placement has no promoted slots: nothing in it is marked promoted.
    assert not lists(settings)["promoted"].any()


def test_diversity_raises_intra_list_diversity_at_a_measured_accuracy_cost(tmp_path):
    def night(diversity: float, home):
        s = load_settings(home=home).with_overrides(score={"top_n": 10}, train={"models": ("ease",)})
        s = replace(s, placements=(Placement(diversity=diversity),))
        frame = taste_ratings(n_users=200, n_items=N_ITEMS, per_user=20, seed=3)
        seed_ratings(s, frame)
        steps.run_nightly(s, run_id="night", skip_ingest=True, as_of=pd.Timestamp("2026-10-17").to_pydatetime())
        later = frame[frame["rated_at"] >= "2026-10-17"]
        recs = lists(s)
        hits = len(set(zip(recs["user_id"], recs["item_id"])) & set(zip(later["user_id"], later["item_id"])))
        ild = published(s, "select value from model_metrics where split = 'published' and metric = 'ild'")[0][0]
        return hits / max(len(later), 1), ild

    recall_0, ild_0 = night(0.0, tmp_path / "plain")
    recall_5, ild_5 = night(0.5, tmp_path / "diverse")
    print(f"recall of later ratings: {recall_0:.3f} -> {recall_5:.3f}; ILD@10: {ild_0:.3f} -> {ild_5:.3f}")
    assert ild_5 > ild_0 + 0.02
    assert recall_5 <= recall_0  # variety is bought with accuracy on this world


def test_output_checks_catch_an_excluded_item_and_a_list_outside_its_filter(settings):
    _land(settings, "items", _items(), "items.csv")
    _land(settings, "exclusions", pd.DataFrame({"user_id": [""], "item_id": ["i5"], "until": [""]}), "x.csv")
    given = {"settings": settings}
    steps.ingest_files(**given)
    run = steps.freeze_snapshot("night", **given, as_of=pd.Timestamp(AS_OF).to_pydatetime())
    steps.evaluate_candidate(run, "ease", **given)
    champion = steps.fit_champion(run, steps.choose_champion(run, **given), **given)
    steps.popular_items(run, **given)
    shard = steps.score_shard(run, champion, 0, **given)
    steps.similar_items(run, champion, **given)
    default = pq.read_table(shard["path"]).to_pandas()
    default.loc[default.index[0], "item_id"] = "i5"  # excluded for everyone
    pq.write_table(pa.Table.from_pandas(default, schema=pq.read_schema(shard["path"]), preserve_index=False),
                   shard["path"])
    named = settings.layout.run(RunContext.from_xcom(run).key).placement_part("comedy", 0)
    comedy = pq.read_table(named).to_pandas()
    comedy.loc[comedy.index[0], "item_id"] = "i40"  # a western in the comedy row
    pq.write_table(pa.Table.from_pandas(comedy, schema=pq.read_schema(named), preserve_index=False), named)
    with pytest.raises(OutputCheckError) as failed:
        steps.build_release(run, **given)
    assert "check_no_excluded_items" in str(failed.value) and "check_placement_filter" in str(failed.value)
    assert not settings.layout.serving.exists()


def test_a_bad_filter_or_an_unknown_placement_is_refused_with_its_name(settings):
    with pytest.raises(ValueError, match="unknown placement"):
        settings.with_params({"placements": ["nope"]})
    broken = replace(settings, placements=(Placement(), Placement(name="broken", filter="genre_typo like 'x'")))
    with pytest.raises(PlacementFilterError, match=r"\[placements.broken\] filter"):
        steps.run_nightly(broken, run_id="night", skip_ingest=True)
    with pytest.raises(ValueError, match=r"diversity must be in \[0, 1\]"):
        Placement(name="x", diversity=1.5)
