"""The EASE fit benchmark runs on a run's snapshot and reports its size, time and peak memory."""

from jobs import steps
from jobs.bench.ease import main
from tests.support.warehouse import seed_ratings, taste_ratings


def test_one_fit_on_a_runs_snapshot(settings, capsys):
    seed_ratings(settings, taste_ratings(n_users=30, n_items=20))
    steps.freeze_snapshot("night1", settings=settings)
    assert main(["--run-dir", str(settings.layout.run("night1").root)]) == 0
    out = capsys.readouterr().out
    assert '"items": 20' in out and '"users": 30' in out and '"peak_rss_gib"' in out
