"""One home for the outputs/ layout: outputs/README.md lists exactly the paths jobs/layout.py hands out."""

import re
from pathlib import Path

from jobs.layout import DOCUMENTED, OutputLayout
from tests.support import ROOT


def test_outputs_readme_lists_exactly_the_layouts_paths():
    table = re.findall(r"^\| `([^`]+)` \|", (ROOT / "outputs" / "README.md").read_text(), flags=re.M)
    assert table == list(DOCUMENTED)


def test_every_documented_path_is_one_the_layout_builds(tmp_path):
    layout = OutputLayout(tmp_path)
    run = layout.run("<run>")
    built = [
        layout.warehouse, layout.serving, layout.current_pointer, layout.publish_lock, layout.run_lock,
        layout.version("<run>"), layout.version_checksum("<run>"), layout.unchecked_version("<run>"),
        layout.parquet_partition("<table>", "YYYY-MM-DD") / "part-0.parquet", layout.parquet_whole("<table>"),
        layout.parquet_marker, layout.parquet_staging("<run>"), run.snapshot, run.popular_items,
        run.metrics_file("<model>"), run.per_user_file("<model>"), run.artifact("<model>"), run.score_part(0),
        run.placement_part("<placement>", 0),
        run.similar_file("<method>"), run.step_file("<step>"), layout.report("<run>"), layout.report_html("<run>"), layout.screenshots / "<name>.png", layout.tuning.snapshot, layout.best_params("<model>"),
        layout.optuna_journal,
    ]
    folders = {run.snapshot, layout.tuning.snapshot, layout.parquet_staging("<run>")}
    shown = [str(path.relative_to(tmp_path)).replace("part-00000", "part-<shard>") + ("/" if path in folders else "")
             for path in built]
    assert shown == list(DOCUMENTED)
    assert OutputLayout.version_key(layout.version("night_1")) == "night_1"
    assert Path(run.score_parts_glob).parent == run.scores
    assert run.step_file("score_shard", "3").name == "score_shard-3.json"
