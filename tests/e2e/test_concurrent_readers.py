"""Readers in other processes query the outputs in a loop while publishes happen: no errors, no waits, one
complete version per read."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from jobs import steps
from jobs.config import load_settings
from tests.support.warehouse import seed_ratings, taste_ratings

pytestmark = pytest.mark.slow
READER = Path(__file__).with_name("reader_loop.py")


def test_readers_see_one_complete_version_per_read_across_publishes(tmp_path):
    settings = load_settings(home=tmp_path).with_overrides(score={"top_n": 5}, train={"models": ("ease",)})
    seed_ratings(settings, taste_ratings(n_users=200))
    readers = [
        subprocess.Popen([sys.executable, str(READER), str(settings.outputs_dir), "5", "120"], stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    try:
        for night in range(4):
            steps.run_nightly(settings, run_id=f"night{night}", skip_ingest=True)
    finally:
        (settings.outputs_dir / "readers.stop").touch()
    reports = [json.loads(r.communicate(timeout=60)[0]) for r in readers]
    for report in reports:
        assert report["n_errors"] == 0, report
        assert report["n_inconsistent"] == 0, report
        assert report["reads"] > 10, report
        assert report["slowest_read_s"] < 2.0, report  # no lock waits: reads never queue behind the pipeline
