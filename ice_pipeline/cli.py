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
from typing import NoReturn

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
    print(
        grant_analyst(
            settings.warehouse_url,
            args.role,
            password_env=args.password_env,
            allow_existing=args.allow_existing_role,
        )
    )
    return 0


def _cmd_inspect(args: argparse.Namespace) -> int:
    from ice_pipeline.ingest.inspect import inspect_file, write_summary

    if getattr(args, "draft_mapping", False):  # issue 16: a drafted mapping instead of JSON
        from ice_pipeline.ingest.draft import draft_mapping

        print(draft_mapping(Path(args.path), args.feed).render(), end="")
        return 0
    summary = inspect_file(
        Path(args.path),
        file_format=args.format,
        mapping_path=Path(args.mapping) if args.mapping else None,
        feed=args.feed,
    )
    write_summary(summary)  # a closed pipe (| head) ends quietly
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


def _cmd_pull(args: argparse.Namespace) -> int:
    from ice_pipeline.connectors.pull import pull_command

    return pull_command(args.source, args.since, args.dry_run, out=sys.stdout, err=sys.stderr)


def _cmd_demo(args: argparse.Namespace) -> int:
    from ice_pipeline.demo_run import run_demo

    return run_demo(employees=args.employees)


def _cmd_report_list(args: argparse.Namespace) -> int:
    from ice_pipeline.reports.archive import print_report_list
    from ice_pipeline.settings import load_settings

    return print_report_list(load_settings().warehouse_url, period=args.period, kind=args.kind)


def _cmd_report_show(args: argparse.Namespace) -> int:
    from ice_pipeline.output_paths import checked_output_path
    from ice_pipeline.reports.archive import show_report
    from ice_pipeline.settings import load_settings

    settings = load_settings()
    # Checked before the warehouse is opened: never over a file without --force, never into
    # the data directory (output_paths.py).
    out = checked_output_path(Path(args.out), settings, force=args.force) if args.out else None
    return show_report(
        settings.warehouse_url,
        period=args.period,
        kind=args.kind,
        version=args.version,
        out=out,
    )


def _cmd_delivery_status(args: argparse.Namespace) -> int:
    from ice_pipeline.reports.delivery_ops import print_delivery_status
    from ice_pipeline.settings import load_settings

    return print_delivery_status(load_settings().warehouse_url, args.period)


def _cmd_delivery_resolve(args: argparse.Namespace) -> int:
    from ice_pipeline.reports.delivery_ops import resolve_deliveries
    from ice_pipeline.settings import load_settings

    return resolve_deliveries(
        load_settings().warehouse_url,
        args.period,
        outcome=args.outcome,
        recipient=args.recipient,
        kind=args.kind,
        version=args.version,
        note=args.note,
    )


def _add_delivery_commands(sub: argparse._SubParsersAction) -> None:
    """``ice-pipeline delivery status|resolve PERIOD``: read and settle the delivery ledger."""
    dlv = sub.add_parser("delivery", help="see and settle e-mail deliveries (the delivery ledger)")
    dlv_sub = dlv.add_subparsers(dest="delivery_command", required=True, metavar="ACTION")
    st = dlv_sub.add_parser(
        "status", help="every delivery of a period; exit 1 if some need a decision"
    )
    st.add_argument("period", help="period, YYYY-MM")
    st.set_defaults(handler=_cmd_delivery_status)
    rs = dlv_sub.add_parser("resolve", help="settle uncertain or refused deliveries of a period")
    rs.add_argument("period", help="period, YYYY-MM")
    rs.add_argument(
        "--as",
        dest="outcome",
        required=True,
        choices=["sent", "retry", "abandon"],
        help="sent: it arrived (checked in the server log); retry: the next run sends it again; "
        "abandon: never send it",
    )
    rs.add_argument("--recipient", help="only this address")
    rs.add_argument("--kind", help="only this report kind (e.g. executive_summary)")
    rs.add_argument("--version", type=int, help="only this report version")
    rs.add_argument("--note", help="why (kept in the ledger's resolution column)")
    rs.set_defaults(handler=_cmd_delivery_resolve)


class _Parser(argparse.ArgumentParser):
    """argparse, with control characters of rejected arguments escaped in its error line."""

    def error(self, message: str) -> NoReturn:
        from ice_pipeline.errors import printable

        super().error(printable(message))


def _cmd_audit(args: argparse.Namespace) -> int:
    from ice_pipeline.privacy.audit import run_audit_command

    return run_audit_command(args.period)


def _cmd_report_export(args: argparse.Namespace) -> int:
    from ice_pipeline.reports.site import export_site
    from ice_pipeline.settings import load_settings
    from ice_pipeline.warehouse.engine import connect_warehouse

    engine = connect_warehouse(load_settings().warehouse_url)
    try:
        written = export_site(engine, args.period, Path(args.directory), pdf=not args.no_pdf)
    finally:
        engine.dispose()
    print(f"wrote {len(written)} files for {args.period} and earlier to {args.directory}")
    return 0


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
    parser = _Parser(
        prog="ice-pipeline",
        description=(
            "Internal Customer Index pipeline. Settings come from ICE_* environment variables "
            "(ICE_DATA_DIR, ICE_WAREHOUSE_URL, ICE_CONFIG, ICE_PSEUDONYM_SALT); see README.md."
        ),
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_demo_commands(sub)
    _add_warehouse_commands(sub)
    _add_inspect_command(sub)
    _add_run_commands(sub)
    _add_report_commands(sub)
    _describe(parser)
    return parser


def _add_demo_commands(sub: argparse._SubParsersAction) -> None:
    """``demo`` and ``demo-data``."""
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


def _add_warehouse_commands(sub: argparse._SubParsersAction) -> None:
    """``warehouse upgrade`` and ``warehouse grant-analyst``."""
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
    grant.add_argument(
        "--allow-existing-role",
        action="store_true",
        help="make an existing role that grant-analyst did not create read-only (its login is "
        "kept; its other privileges in this database are revoked)",
    )
    grant.set_defaults(handler=_cmd_warehouse_grant)


def _add_inspect_command(sub: argparse._SubParsersAction) -> None:
    """``inspect``: one export parsed and validated, nothing written."""
    insp = sub.add_parser(
        "inspect", help="parse and validate one export, write nothing, print a JSON summary"
    )
    insp.add_argument("path", help="the export file")
    insp.add_argument("--format", help="force the format instead of detecting it")
    insp.add_argument("--mapping", help="mapping YAML (default: the one beside the file, if any)")
    insp.add_argument(
        "--feed", choices=["surveys", "tickets", "hr", "external"], help="force the feed"
    )
    insp.add_argument(
        "--draft-mapping",
        action="store_true",
        help="print a mapping YAML inferred from the file (comments say why; fill each TODO)",
    )
    insp.set_defaults(handler=_cmd_inspect)


def _add_run_commands(sub: argparse._SubParsersAction) -> None:
    """``run`` and ``pull``."""
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

    pull = sub.add_parser(
        "pull", help="fetch what is new from the configured tools' APIs into the landing folders"
    )
    pull.add_argument("source", nargs="?", help="one source name or tool (default: every source)")
    pull.add_argument("--since", help="pull changes since this date instead of the saved cursor")
    pull.add_argument("--dry-run", action="store_true", help="fetch and count, land nothing")
    pull.set_defaults(handler=_cmd_pull)


def _add_report_commands(sub: argparse._SubParsersAction) -> None:
    """``report list|show|export``, ``delivery ...`` and ``audit``."""
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
    rs.add_argument(
        "--out", help="write the HTML to this file instead of stdout (never into ICE_DATA_DIR)"
    )
    rs.add_argument("--force", action="store_true", help="replace the --out file if it exists")
    rs.set_defaults(handler=_cmd_report_show)
    _add_delivery_commands(sub)

    audit = sub.add_parser(
        "audit",
        help="check a period's tables, views, report versions and e-mails for any group under k "
        "(exit 1 and one line per finding)",
    )
    audit.add_argument("period", help="period, YYYY-MM")
    audit.set_defaults(handler=_cmd_audit)

    rx = rep_sub.add_parser(
        "export", help="write a period's reports as a linked static site (and the summary PDF)"
    )
    rx.add_argument("period", help="period, YYYY-MM")
    rx.add_argument("directory", help="where to write <period>/*.html and index.html")
    rx.add_argument("--no-pdf", action="store_true", help="skip the executive-summary PDF")
    rx.set_defaults(handler=_cmd_report_export)


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
    except OSError as err:  # a full disk anywhere is one line too, never a traceback
        from ice_pipeline.disk import disk_error

        full = disk_error(err, Path(err.filename or ".").parent, needed_bytes=None)
        if full is None:
            raise
        print(f"ice-pipeline: {full}", file=sys.stderr)
        return full.exit_code
    except KeyboardInterrupt:
        print(
            "ice-pipeline: interrupted; the warehouse keeps its previous contents", file=sys.stderr
        )
        return 130


if __name__ == "__main__":
    sys.exit(main())
