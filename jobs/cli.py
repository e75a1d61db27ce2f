"""The ``recs`` command: the same job functions as the Airflow DAGs, without Airflow.

    recs sample                 write the seeded sample data set into landing/
    recs ingest PATH...         load rating (or --kind items|exclusions|promotions) files, exactly once
    recs run [--top-n N]        the whole nightly pipeline in this process (--placements, --diversity)
    recs tune [--models M]      Optuna tuning; the nightly run trains with the best params found
    recs recommend USER_ID      a user's published recommendations (--placement NAME for a named placement)
    recs query --sql "..."      any SQL over the published database (read-only)
    recs rollback RUN_ID        make an earlier published version current again
    recs status                 what is published, and the last runs
    recs serve [--port 8800]    the HTTP read API for services (token: RECS_API_TOKEN; or --no-auth-localhost)

Commands print a short summary; --json (sample, ingest, run, tune, rollback, status) prints the whole result as JSON.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from datetime import date, datetime
from pathlib import Path

from jobs.config import load_settings
from jobs.ingest.files import KINDS


def _print_table(cursor) -> None:
    rows = cursor.fetchall()
    _print_rows([d[0] for d in cursor.description], rows)
    print(f"({len(rows)} rows)")


def _print_rows(columns, rows) -> None:
    """A plain-text table: a header, a rule, one line per row (floats to 4 places)."""
    text = [[str(c) for c in columns]] + [[f"{v:.4f}" if isinstance(v, float) else str(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in text) for i in range(len(columns))]
    for n, row in enumerate(text):
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
        if n == 0:
            print("  ".join("-" * w for w in widths))


def _output(args, result, summary) -> None:
    """``--json``: the whole result as JSON, for scripts; otherwise ``summary(result)``, a few lines for a person."""
    if getattr(args, "json", False):
        print(json.dumps(result, indent=2, default=str))
    else:
        summary(result)


def _ingest_summary(result: dict) -> None:
    print(f"ingested {result['n_files_new']} new file(s) ({result['n_files_skipped']} already ingested): "
          f"{result['n_rows_read']} rows read, {result['n_rows_loaded']} loaded, "
          f"{result['n_rows_quarantined']} quarantined")
    if result["new_files"]:
        _print_rows(["file", "kind", "read", "loaded", "quarantined"],
                    [(f["path"], f["kind"], f["n_rows_read"], f["n_rows_loaded"], f["n_rows_quarantined"])
                     for f in result["new_files"]])
        if result["n_files_new"] > len(result["new_files"]):
            print(f"... and {result['n_files_new'] - len(result['new_files'])} more (--json lists the first 50)")
    for f in result["set_aside"]:
        print(f"{f['outcome'].replace('_', ' ')}: {f['path']}: {f['reason']}")
    if result["n_rows_quarantined"]:
        print("quarantined rows, with file, line, column and reason: the warehouse's quarantine table")


def _published(settings):
    """The published database, read-only and locked down (``jobs.serving``)."""
    from jobs.serving import NotPublished, open_published

    try:
        return open_published(settings.layout.serving)
    except NotPublished as exc:
        sys.exit(str(exc))


def cmd_sample(args, settings) -> None:
    from jobs.sample.data import write_sample

    summary = write_sample(Path(args.landing) if args.landing else settings.landing_dir, end_date=args.end_date,
                           days=args.days, n_users=args.users, n_items=args.items, n_ratings=args.ratings, seed=args.seed)
    _output(args, summary, lambda s: print(
        f"wrote {s['rows']} ratings ({s['users']} users, {s['items']} items, {s['first_date']} to {s['last_date']}, "
        f"{s['ratings_files']} files), {s['catalogue_items']} items, {s['exclusions']} exclusions and "
        f"{s['promotions']} promotions into {s['landing_dir']}"))


def cmd_ingest(args, settings) -> None:
    from jobs.ingest import IngestError, ingest_paths

    try:
        result = ingest_paths(settings, args.paths, kind=args.kind)
    except IngestError as exc:
        sys.exit(f"ingest failed: {exc}")
    _output(args, result.to_dict(), _ingest_summary)


def cmd_run(args, settings) -> None:
    from jobs.steps import run_nightly

    settings = settings.with_params({"top_n": args.top_n, "shards": args.shards, "holdout_scope": args.holdout_scope,
                                     "holdout_stratify": args.holdout_stratify,
                                     "models": args.models.split(",") if args.models else None,
                                     "placements": _names(args.placements), "diversity": args.diversity})
    from jobs.runlock import RunLocked
    from jobs.warehouse import WarehouseBusy

    as_of = datetime.fromisoformat(args.as_of) if args.as_of else None
    try:
        summary = run_nightly(settings, run_id=args.run_id, as_of=as_of, force_publish=args.force_publish,
                              skip_ingest=args.no_ingest)
    except (RunLocked, WarehouseBusy) as exc:
        sys.exit(f"recs run: {exc}")
    _output(args, summary, _run_summary)


def _run_summary(summary: dict) -> None:
    run, champion, ingested = summary["run"], summary["champion"], summary["ingested"]
    print(f"run {run['run_id']}: day {run['logical_date']}, ratings before {run['as_of']}")
    if ingested:
        print(f"ingested: {ingested['n_files_new']} new file(s), {ingested['n_ratings_loaded']} ratings loaded, "
              f"{ingested['n_rows_quarantined']} rows quarantined, {len(ingested['set_aside'])} file(s) set aside")
    print(f"champion: {champion['model']} ({champion['decision']}): {champion['reason']}")
    if summary["made_current"]:
        print(f"published: {summary['serving']} ({summary['version']}) and {len(summary['parquet'])} Parquet paths")
    else:
        print(f"published to Parquet and versions/ only: {summary['held']}")
    _print_rows(["table", "rows"], list(summary["tables"].items()))
    print(f"report: {summary['report']}")


def cmd_tune(args, settings) -> None:
    from jobs.train.tune import freeze_tuning_snapshot, tune_model

    settings = settings.with_params({"trials": args.trials, "minutes": args.minutes, "holdout_scope": args.holdout_scope,
                                     "holdout_stratify": args.holdout_stratify,
                                     "models": args.models.split(",") if args.models else None})
    freeze_tuning_snapshot(settings, datetime.fromisoformat(args.as_of) if args.as_of else None)
    results = [tune_model(settings, model) for model in settings.train.models]
    _output(args, results, lambda rows: _print_rows(
        ["study", "new trials", "trials", "best trial's value", "kept params' value", "decision"],
        [(r["study"], r["trials_new"], r["trials_total"], r["best_value"], r["value"], r["decision"]) for r in rows]))


def _names(text: str | None) -> list[str] | None:
    """A comma-separated list ("" = none); None when not given."""
    return None if text is None else [name.strip() for name in text.split(",") if name.strip()]


def cmd_recommend(args, settings) -> None:
    from jobs.config import DEFAULT_PLACEMENT
    from jobs.sql import run_sql

    con = _published(settings)
    if args.placement != DEFAULT_PLACEMENT:
        known = [row[0] for row in run_sql(con, "serving/placements").fetchall()]
        if args.placement not in known:
            sys.exit(f"recs recommend: no placement {args.placement!r} in the published version; it has: "
                     f"{', '.join([DEFAULT_PLACEMENT, *known])}")
    _print_table(run_sql(con, "serving/user_list", {"user_id": args.user_id, "placement": args.placement}))


def cmd_query(args, settings) -> None:
    import duckdb

    sql = Path(args.sql_file).read_text() if args.sql_file else args.sql
    if not sql:
        sys.exit("give --sql 'select ...' or --sql-file FILE")
    try:
        _print_table(_published(settings).execute(sql))
    except duckdb.Error as exc:  # read-only and locked down (jobs.serving): writes and file access land here too
        sys.exit(f"query failed: {exc}")


def cmd_rollback(args, settings) -> None:
    from jobs.clock import utcnow
    from jobs.publish.swap import rollback

    _output(args, rollback(settings, args.run_id, utcnow()), lambda r: print(
        f"{r['serving']} serves run {args.run_id} again ({r['version']}), pinned until a run is published with "
        "force_publish"))


def cmd_serve(args, settings) -> None:
    from jobs.api.auth import ServeRefused
    from jobs.api.server import serve

    try:
        serve(settings, host=args.host, port=args.port, no_auth_localhost=args.no_auth_localhost)
    except ServeRefused as exc:
        sys.exit(f"recs serve: {exc}")


def cmd_status(args, settings) -> None:
    from jobs.publish.release import current
    from jobs.sql import run_sql

    published = current(settings)
    runs = run_sql(_published(settings), "serving/latest_runs") if settings.layout.serving.exists() else None
    if args.json:
        rows = [dict(zip([d[0] for d in runs.description], row)) for row in runs.fetchall()] if runs else []
        print(json.dumps({"published": published, "runs": rows}, indent=2, default=str))
        return
    if published is None:
        print(f"nothing published yet in {settings.layout.serving.parent}")
    else:
        print(f"published: run {published['run_id']} (day {published.get('run_date')}), {published['version']}, "
              f"at {published['published_at']}" + (", pinned by recs rollback" if published.get("pinned") else ""))
    if runs:
        _print_table(runs)


def _json_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the whole result as JSON (for scripts) instead "
                                                             "of a short summary")


def _holdout_arguments(parser: argparse.ArgumentParser) -> None:
    from models.splits import SCOPES, STRATA

    parser.add_argument("--holdout-scope", choices=SCOPES,
                        help="the protocol that judges models (default: [train] holdout_scope; see the README's "
                             "'Choosing a holdout')")
    parser.add_argument("--holdout-stratify", choices=STRATA,
                        help="for --holdout-scope random: a fraction of each user's or each item's interactions")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="recs", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("sample", help="write the seeded sample data set into landing/")
    p.add_argument("--landing", help="landing folder (default: $RECS_HOME/landing)")
    p.add_argument("--end-date", type=date.fromisoformat, default=date(2026, 11, 20))
    p.add_argument("--days", type=int, default=42)
    p.add_argument("--users", type=int, default=1000)
    p.add_argument("--items", type=int, default=500)
    p.add_argument("--ratings", type=int, default=60_000)
    p.add_argument("--seed", type=int, default=42)
    _json_argument(p)
    p.set_defaults(func=cmd_sample)

    p = sub.add_parser("ingest", help="load files from anywhere (exactly once each)")
    p.add_argument("paths", nargs="+")
    p.add_argument("--kind", choices=list(KINDS), default="ratings")
    _json_argument(p)
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("run", help="run the whole nightly pipeline here, without Airflow")
    p.add_argument("--top-n", type=int, help="recommendations per user (default from recs.toml)")
    p.add_argument("--models", help="comma-separated candidate models (default from recs.toml)")
    p.add_argument("--shards", type=int, help="user shards to score")
    p.add_argument("--run-id", help="run id (default: cli__<day>)")
    p.add_argument("--as-of", help="use ratings before this ISO timestamp (default: end of the latest day in the data)")
    p.add_argument("--force-publish", action="store_true",
                   help="crown tonight's best model even if worse than the champion, and skip the quality gate "
                        "(coverage collapse, metric drop); the contract checks still apply")
    p.add_argument("--no-ingest", action="store_true", help="skip ingesting landing/")
    p.add_argument("--placements", help="comma-separated named placements to fill tonight besides the default one "
                                        "(default: every [placements.*] in the config; '' = the default one only)")
    p.add_argument("--diversity", type=float, help="diversity in [0, 1] for every placement tonight, instead of "
                                                   "each placement's own")
    _holdout_arguments(p)
    _json_argument(p)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("tune", help="tune models with Optuna (resumes the persistent study)")
    p.add_argument("--models", help="comma-separated models (default: the configured candidates)")
    p.add_argument("--trials", type=int, help="more trials per model this time (default: [tune] trials)")
    p.add_argument("--minutes", type=float, help="time budget per model (default: [tune] minutes)")
    p.add_argument("--as-of", help="tune on ratings before this ISO timestamp (default: all)")
    _holdout_arguments(p)
    _json_argument(p)
    p.set_defaults(func=cmd_tune)

    p = sub.add_parser("recommend", help="print a user's published recommendations")
    p.add_argument("user_id")
    p.add_argument("--placement", default="default", help="a named placement (default: the default placement, "
                                                          "the recommendations table)")
    p.set_defaults(func=cmd_recommend)

    p = sub.add_parser("query", help="run SQL on the published database (read-only)")
    p.add_argument("--sql")
    p.add_argument("--sql-file")
    p.set_defaults(func=cmd_query)

    p = sub.add_parser("rollback", help="make an earlier published version current")
    p.add_argument("run_id")
    _json_argument(p)
    p.set_defaults(func=cmd_rollback)

    p = sub.add_parser("status", help="what is published, and the last runs")
    _json_argument(p)
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("serve", help="the HTTP read API over the published version (README: 'Serving over HTTP')")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8800, help="port (default 8800)")
    p.add_argument("--no-auth-localhost", action="store_true",
                   help="serve without a token, on a loopback address only (refuses any other --host)")
    p.set_defaults(func=cmd_serve)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        args.func(args, load_settings())
        sys.stdout.flush()
    except BrokenPipeError:  # `recs status | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(0)


if __name__ == "__main__":
    main()
