"""The ``ice-pipeline`` command: thin argparse wiring over the domain functions.

Each subcommand imports its module lazily so ``ice-pipeline --help`` stays fast. Problems a
person can fix arrive as :class:`ice_pipeline.errors.IceError` and are printed as one line on
stderr with exit status 2; no traceback reaches the user.
"""

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from ice_pipeline.errors import IceError

Handler = Callable[[argparse.Namespace], int]
# The report kinds the pipeline archives (reports/viewmodel.py): one summary, one page per provider.
REPORT_KINDS = "executive_summary, provider:<department>"


def _cmd_demo_data(args: argparse.Namespace) -> int:
    from ice_pipeline.demo.generator import generate_demo
    from ice_pipeline.settings import ensure_data_dir, load_settings

    settings = load_settings()
    out = Path(args.out) if args.out else ensure_data_dir(settings) / "landing"
    summary = generate_demo(
        out,
        employees=args.employees,
        periods=args.periods,
        seed=args.seed,
        survey_format=args.survey_format,
        ticket_format=args.ticket_format,
        end_period=args.end_period,
    )
    print(json.dumps(summary, indent=2, default=str))
    return 0


def _cmd_warehouse_upgrade(args: argparse.Namespace) -> int:
    from ice_pipeline.settings import load_settings
    from ice_pipeline.warehouse.migrate import upgrade

    settings = load_settings()
    revision = upgrade(settings.warehouse_url)
    print(f"warehouse at revision {revision}: {settings.warehouse_url}")
    return 0


def _cmd_warehouse_grant(args: argparse.Namespace) -> int:
    from ice_pipeline.settings import load_settings
    from ice_pipeline.warehouse.analyst import grant_analyst

    settings = load_settings()
    print(grant_analyst(settings.warehouse_url, args.role, password_env=args.password_env))
    return 0


def _cmd_inspect(args: argparse.Namespace) -> int:
    from ice_pipeline.ingest.inspect import inspect_file

    summary = inspect_file(
        Path(args.path),
        file_format=args.format,
        mapping_path=Path(args.mapping) if args.mapping else None,
        feed=args.feed,
    )
    print(json.dumps(summary, indent=2, default=str))
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    from ice_pipeline.runner import run_pipeline

    if args.allow_empty and not args.partition:
        raise IceError(
            "--allow-empty only applies to periods named with --partition",
            fix="add --partition YYYY-MM, or drop --allow-empty",
            where="--allow-empty",
        )
    return run_pipeline(
        partitions=args.partition,
        all_partitions=args.all,
        dry_run=args.dry_run,
        allow_empty=args.allow_empty,
    )


def _cmd_demo(args: argparse.Namespace) -> int:
    from ice_pipeline.runner import run_demo

    return run_demo(employees=args.employees)


def _cmd_report_list(args: argparse.Namespace) -> int:
    from ice_pipeline.reports.archive import print_report_list
    from ice_pipeline.settings import load_settings

    return print_report_list(load_settings().warehouse_url, period=args.period, kind=args.kind)


def _cmd_report_show(args: argparse.Namespace) -> int:
    from ice_pipeline.reports.archive import show_report
    from ice_pipeline.settings import load_settings

    return show_report(
        load_settings().warehouse_url,
        period=args.period,
        kind=args.kind,
        version=args.version,
        out=Path(args.out) if args.out else None,
    )


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("ice-pipeline")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def _describe(parser: argparse.ArgumentParser) -> None:
    """Give every subcommand its one-line help as the description of its own ``--help``."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {choice.dest: choice.help for choice in action._choices_actions}
            for name, child in action.choices.items():
                if child.description is None:
                    child.description = helps.get(name)
                _describe(child)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ice-pipeline",
        description=(
            "Internal Customer Index pipeline. Settings come from ICE_* environment variables "
            "(ICE_DATA_DIR, ICE_WAREHOUSE_URL, ICE_CONFIG, ICE_PSEUDONYM_SALT); see README.md."
        ),
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = sub.add_parser(
        "demo", help="generate demo data and run the main job on it (embedded DuckDB)"
    )
    demo.add_argument("--employees", type=int, default=2000, help="size of the demo organisation")
    demo.set_defaults(handler=_cmd_demo)

    data = sub.add_parser(
        "demo-data", help="write a fictional organisation's exports as real tools do"
    )
    data.add_argument(
        "--employees", type=int, default=2000, help="employees (default 2000; scales past 100000)"
    )
    data.add_argument(
        "--periods", type=int, default=24, help="monthly periods of history (default 24)"
    )
    data.add_argument(
        "--end-period", default="2026-10", help="last period, YYYY-MM (default 2026-10)"
    )
    data.add_argument(
        "--seed", type=int, default=42, help="random seed (default 42: the same data every time)"
    )
    data.add_argument(
        "--out", help="landing directory to write into (default <ICE_DATA_DIR>/landing)"
    )
    data.add_argument(
        "--survey-format",
        default="qualtrics",
        choices=["qualtrics", "surveymonkey", "limesurvey", "google_forms"],
        help="layout of the survey exports (default qualtrics)",
    )
    data.add_argument(
        "--ticket-format",
        default="servicenow",
        choices=["servicenow", "jira", "zendesk"],
        help="layout of the ticket exports (default servicenow)",
    )
    data.set_defaults(handler=_cmd_demo_data)

    wh = sub.add_parser("warehouse", help="manage the warehouse schema and analyst access")
    wh_sub = wh.add_subparsers(dest="warehouse_command", required=True, metavar="ACTION")
    up = wh_sub.add_parser("upgrade", help="apply migrations up to the newest revision")
    up.set_defaults(handler=_cmd_warehouse_upgrade)
    grant = wh_sub.add_parser(
        "grant-analyst", help="create or update a read-only PostgreSQL role for the aggregate views"
    )
    grant.add_argument("role", help="role name to create or update")
    grant.add_argument(
        "--password-env",
        default=None,
        help="name of an environment variable holding the role's login password (optional)",
    )
    grant.set_defaults(handler=_cmd_warehouse_grant)

    insp = sub.add_parser(
        "inspect", help="parse and validate one export, write nothing, print a JSON summary"
    )
    insp.add_argument("path", help="the export file")
    insp.add_argument("--format", help="force the format instead of detecting it")
    insp.add_argument("--mapping", help="mapping YAML (default: the one beside the file, if any)")
    insp.add_argument(
        "--feed", choices=["surveys", "tickets", "hr", "external"], help="force the feed"
    )
    insp.set_defaults(handler=_cmd_inspect)

    run = sub.add_parser("run", help="run the main job (ingest, index, reports, delivery)")
    which = run.add_mutually_exclusive_group()
    which.add_argument(
        "--partition",
        action="append",
        help="period to run, YYYY-MM (repeatable; default: the periods with new data)",
    )
    which.add_argument("--all", action="store_true", help="every period found in the landing files")
    run.add_argument("--dry-run", action="store_true", help="render reports but send no email")
    run.add_argument(
        "--allow-empty",
        action="store_true",
        help="with --partition: compute a period without survey data (archived, never e-mailed)",
    )
    run.set_defaults(handler=_cmd_run)

    rep = sub.add_parser("report", help="read reports back from the archive")
    rep_sub = rep.add_subparsers(dest="report_command", required=True, metavar="ACTION")
    rl = rep_sub.add_parser("list", help="list archived reports")
    rl.add_argument("--period", help="only this period, YYYY-MM")
    rl.add_argument("--kind", help=f"only this kind ({REPORT_KINDS})")
    rl.set_defaults(handler=_cmd_report_list)
    rs = rep_sub.add_parser("show", help="print or save one archived report")
    rs.add_argument("period", help="period, YYYY-MM")
    rs.add_argument(
        "--kind",
        default="executive_summary",
        help=f"report kind: {REPORT_KINDS} (default executive_summary)",
    )
    rs.add_argument("--version", type=int, help="version (default the newest)")
    rs.add_argument("--out", help="write the HTML to this file instead of stdout")
    rs.set_defaults(handler=_cmd_report_show)
    _describe(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler = args.handler
    try:
        status = handler(args)
        sys.stdout.flush()  # a closed pipe shows up here, inside the handler below
        return status
    except BrokenPipeError:
        # The reader went away (`ice-pipeline report list | head -1`): end quietly, as Unix tools
        # do. Pointing stdout at /dev/null stops Python's own flush at exit from failing again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # 128 + SIGPIPE, what a shell reports for a tool ended by a closed pipe
    except IceError as err:
        print(f"ice-pipeline: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print(
            "ice-pipeline: interrupted; the warehouse keeps its previous contents", file=sys.stderr
        )
        return 130


if __name__ == "__main__":
    sys.exit(main())
