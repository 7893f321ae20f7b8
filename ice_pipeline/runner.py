"""``ice-pipeline run``: the main job executed in this process (``demo`` is in demo_run.py).

Belongs here: executing ``ice_nightly_job`` in-process (after run_setup.py's checks of the
settings and migrations) against the project-local Dagster instance (every run shows up
in ``dagster dev`` afterwards), one run per period in period order, progress lines, and turning a
failed run into one line naming the failed step. What the job does lives in ``defs/``.

Why one run per period in one process: the trend of a period reads the previous period and the
correlations read the history before it, so periods go oldest first; the unpartitioned ingest
assets (every landing file, each parsed once) run once, in a first run, instead of once per
period; and a single process pays the import cost (pandas, Dagster, GX) once.

Nothing new, nothing done: ``run`` without ``--partition`` (the nightly tick) and ``--all`` skip
the work whose inputs are unchanged since its last successful run. The inputs are the landing
files (by content), the config file, every ``ICE_*`` setting, the package version, the report
templates and the asset selection (``inputs_fingerprint``); when they match the fingerprint
recorded in ``<data_dir>/cache/runs/`` after the last successful ingest run, the ingest run is
skipped, and a period is skipped when its own record matches too and the warehouse still holds
its scores. Any change recomputes every chosen period (trends and correlations read earlier
periods). An explicit ``--partition`` always recomputes that period.

Problems a person can fix (settings, files) raise IceError and cli.main prints them; a failed
Dagster step prints ``ice-pipeline: step <step> failed for <period>: <message>`` and returns 1.
"""

import json
import os
import sys
import time
import warnings
from collections.abc import Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

from ice_pipeline.errors import IceError, printable
from ice_pipeline.run_plan import (
    PERIOD_FEEDS,
    PeriodPlan,
    checks_summary,
    checks_text,
    first_failure,
    held_text,
    ingest_accounting,
    inputs_fingerprint,
    period_fingerprints,
    periods_with_data,
    plan_periods,
    row_count,
)
from ice_pipeline.run_setup import (  # noqa: F401  (re-exported: tests and demo_run use them)
    QUIET_LOGGING,
    RUN_RECORDS_DIR,
    TELEMETRY_OFF,
    RunSummary,
    _metadata_values,
    _preflight,
    prepare_dagster_home,
)

_first_failure = first_failure  # (step, one-line message) of a failed run (run_plan.py)


class Runner:
    """Executes ice_nightly_job in-process, unpartitioned assets first, then period by period.

    Dagster (definitions, job, instance) is loaded on first use: a tick with nothing new plans
    from the job's shape recorded by an earlier run (run_shape.py) and never imports it.
    """

    def __init__(self, environ: Mapping[str, str] | None = None, *, out: Any = None) -> None:
        from ice_pipeline.run_shape import job_shape

        self.environ = dict(os.environ if environ is None else environ)
        self.out = out or sys.stdout
        prepare_dagster_home(self.environ)
        self.settings = _preflight(self.environ)
        shape = job_shape(
            self.settings.data_dir / "cache" / RUN_RECORDS_DIR,
            self._config_file(),
            self.environ,
            lambda: self.definitions,
        )
        self.unpartitioned_names = shape.unpartitioned
        self.partitioned_names = shape.partitioned
        self.partition_keys = shape.partition_keys
        self.has_pulls = shape.has_pulls

    def _config_file(self) -> Path:
        from ice_pipeline.config import config_path

        return config_path(self.settings, self.environ)

    @cached_property
    def definitions(self) -> Any:
        from ice_pipeline.definitions import build_definitions
        from ice_pipeline.defs.resources import export_secrets

        # Secrets reach the resources as EnvVar references (resolved from this process's
        # environment when a run starts), never as values stored in the run's snapshot.
        export_secrets(self.environ)
        return build_definitions(self.environ)

    @cached_property
    def job(self) -> Any:
        from ice_pipeline.defs.jobs import NIGHTLY_JOB_NAME

        return self.definitions.resolve_job_def(NIGHTLY_JOB_NAME)

    @cached_property
    def instance(self) -> Any:
        from ice_pipeline.dagster_local import local_instance

        return local_instance()  # DAGSTER_HOME's, its SQLite files kept open (dagster_local.py)

    @property
    def unpartitioned(self) -> list[Any]:
        """The unpartitioned asset keys (ingest, pulls), by name."""
        import dagster as dg

        return [dg.AssetKey.from_user_string(name) for name in self.unpartitioned_names]

    @property
    def partitioned(self) -> list[Any]:
        """The period-scoped asset keys each period's run materialises."""
        import dagster as dg

        return [dg.AssetKey.from_user_string(name) for name in self.partitioned_names]

    @partitioned.setter
    def partitioned(self, keys: Sequence[Any]) -> None:
        self.partitioned_names = [key.to_user_string() for key in keys]

    def say(self, line: str) -> None:
        print(printable(line), file=self.out, flush=True)  # paths may hold control characters

    def _execute(
        self,
        summary: RunSummary,
        selection: list[Any],
        period: str | None,
        run_config: dict[str, Any],
        inputs: str | None = None,
    ) -> bool:
        from ice_pipeline.defs.assets_analyst import DEFER_ANALYST_FILE_TAG
        from ice_pipeline.defs.checks import DEFER_DATA_DOCS_TAG
        from ice_pipeline.defs.run_log import INPUTS_FINGERPRINT_TAG

        job = self.job  # loads Dagster and the definitions on first use
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = job.execute_in_process(
                instance=self.instance,
                partition_key=period,
                asset_selection=selection,
                run_config={**QUIET_LOGGING, **run_config},
                raise_on_error=False,
                tags={
                    "ice/trigger": "cli",
                    DEFER_DATA_DOCS_TAG: "1",
                    DEFER_ANALYST_FILE_TAG: "1",
                    **({INPUTS_FINGERPRINT_TAG: inputs} if inputs else {}),
                },
            )
        summary.run_ids.append(result.run_id)
        failed = summary.failed_checks.setdefault(period or "", [])
        for evaluation in result.get_asset_check_evaluations():
            if evaluation.passed:
                continue
            table = evaluation.asset_key.to_user_string()
            names = str(getattr(evaluation.metadata.get("failed_names"), "value", "") or "")
            failed.extend(f"{table}.{name.strip()}" for name in names.split(",") if name.strip())
        for event in result.get_asset_materialization_events():
            materialization = event.event_specific_data.materialization
            key = materialization.asset_key.to_user_string()
            summary.metadata[f"{key}[{period or ''}]"] = _metadata_values(materialization.metadata)
        if not result.success:
            summary.failed_step, summary.failure = first_failure(result)
            summary.failure = self._disk_full_line(summary.failure)
            return False
        return True

    def _disk_full_line(self, failure: str) -> str:
        """A full disk met by any library (a raw ENOSPC) as the one DiskFull line."""
        from ice_pipeline.disk import DiskFull, free_bytes, is_disk_full

        if failure.startswith("disk full") or not is_disk_full(Exception(failure)):
            return failure
        data_dir = self.settings.data_dir
        return str(DiskFull(data_dir, needed_bytes=None, free_bytes=free_bytes(data_dir)))

    def _record_path(self, name: str) -> Path:
        return self.settings.data_dir / "cache" / RUN_RECORDS_DIR / f"{name}.json"

    def _recorded(self, name: str) -> str | None:
        try:
            return json.loads(self._record_path(name).read_text(encoding="utf-8"))["inputs"]
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def _record(self, name: str, fingerprint: str | None, run_id: str | None) -> None:
        """Note that ``name`` succeeded on these inputs (None: forget it, e.g. before a rerun)."""
        path = self._record_path(name)
        if fingerprint is None:
            path.unlink(missing_ok=True)
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        staging = path.with_suffix(".tmp")
        staging.write_text(json.dumps({"inputs": fingerprint, "run_id": run_id}), encoding="utf-8")
        os.replace(staging, path)

    def _period_in_warehouse(self, period: str) -> bool:
        """The period's scores are still there (guards against a warehouse emptied by hand)."""
        import sqlalchemy

        from ice_pipeline.warehouse import schema

        table = schema.company_scores
        query = sqlalchemy.select(sqlalchemy.literal(1)).where(table.c.period == period).limit(1)
        try:
            with self._planning_engine().connect() as connection:
                return connection.execute(query).first() is not None
        except Exception:  # noqa: BLE001 - any doubt means: compute it again
            return False

    def _planning_engine(self) -> Any:
        """The warehouse engine for planning; the runs' own (defs/resources.py) once loaded.

        A tick with nothing new never imports Dagster, so it opens its own engine and closes it
        when planning is done (DuckDB: one engine per file and process at a time).
        """
        if "ice_pipeline.defs.resources" in sys.modules:
            from ice_pipeline.defs.resources import WarehouseResource

            return WarehouseResource(url=self.settings.warehouse_url).engine()
        if getattr(self, "_own_engine", None) is None:
            from ice_pipeline.warehouse.engine import connect_warehouse

            self._own_engine = connect_warehouse(self.settings.warehouse_url)
        return self._own_engine

    def _close_planning_engine(self) -> None:
        engine, self._own_engine = getattr(self, "_own_engine", None), None
        if engine is not None:
            engine.dispose()

    def ingested_periods(self) -> list[str]:
        """Partitions that the ingested landing files hold rows for."""
        return self.periods_with_data(PERIOD_FEEDS)

    def check_periods(self, periods: Sequence[str]) -> list[str]:
        unknown = [p for p in periods if p not in self.partition_keys]
        if unknown:
            first, last = (
                (self.partition_keys[0], self.partition_keys[-1])
                if self.partition_keys
                else ("-", "-")
            )
            raise IceError(
                f"{', '.join(unknown)} is not a period of ice_nightly_job ({first}..{last}: "
                "from ICE_FIRST_PERIOD to the last complete month)",
                fix="pass --partition YYYY-MM within that range, or set ICE_FIRST_PERIOD earlier",
                where="--partition",
            )
        return sorted(set(periods))

    def run(
        self,
        periods: Sequence[str] | None,
        *,
        all_periods: bool = False,
        dry_run: bool = False,
        allow_empty: bool = False,
    ) -> RunSummary:
        """Ingest, then compute each chosen period oldest first; stops at the first failed run."""
        started = time.perf_counter()
        summary = RunSummary()
        chosen = self.check_periods(periods) if periods else []
        # Skipping unchanged ingest work is for the implicit selections (the nightly tick, --all).
        fingerprint = None if periods else self.fingerprint(dry_run)
        if self.has_pulls:  # connectors fetch new data in the run itself: nothing is unchanged
            fingerprint = None
        landing = self.settings.data_dir / "landing"
        if fingerprint is not None and self._recorded("ingest") == fingerprint:
            self.say(f"ingesting {landing}: unchanged since the last successful run, skipped")
        else:
            self.say(f"ingesting {landing} ...")
            self._record("ingest", None, None)
            if not self._execute(summary, list(self.unpartitioned), None, {}):
                summary.seconds = time.perf_counter() - started
                return summary
            self.say_ingest_accounting(summary)
            if not summary.failed_files:  # a failed file must fail the next run too
                self._record("ingest", fingerprint, summary.run_ids[-1])
        plan = self.plan_periods(chosen, all_periods=all_periods, dry_run=dry_run)
        if plan.empty and not allow_empty:
            raise IceError(
                f"{', '.join(plan.empty)} has no survey data in the landing files, so there is "
                "nothing to compute or e-mail",
                fix="land the period's survey export first, or pass --allow-empty to compute it "
                "anyway (its reports are archived, never e-mailed)",
                where="--partition",
            )
        if plan.note:
            self.say(plan.note)
        delivery = {"ops": {"report_delivery": {"config": {"dry_run": dry_run}}}}
        for index, period in enumerate(plan.compute, start=1):
            began = time.perf_counter()
            self._record(f"period-{period}", None, None)
            ok = self._execute(
                summary, list(self.partitioned), period, delivery, plan.fingerprints[period]
            )
            summary.periods.append(period)
            if not ok:
                break
            self._record(f"period-{period}", plan.fingerprints[period], summary.run_ids[-1])
            self.say(
                f"[{index}/{len(plan.compute)}] {period}: {self.progress_text(summary, period)} "
                f"({time.perf_counter() - began:.1f} s)"
            )
        summary.skipped = plan.skipped
        if summary.run_ids:  # nothing ran: the docs already show every stored result
            self.build_data_docs()
        if summary.ok:  # after a failure the analysts keep the last good file
            self.write_analyst_file(summary)
        summary.seconds = time.perf_counter() - started
        return summary

    def say_ingest_accounting(self, summary: RunSummary) -> None:
        """Per feed: read = kept + quarantined + excluded; collect the files that failed."""
        lines, failed = ingest_accounting(summary.metadata)
        for line in lines:
            self.say(line)
        summary.failed_files.extend(failed)

    def progress_text(self, summary: RunSummary, period: str) -> str:
        """``N ratings, M tickets, company ICE-P x`` of a computed period (from its metadata)."""
        ratings = row_count(summary.metadata.get(f"survey_ratings[{period}]", {}))
        tickets = row_count(summary.metadata.get(f"tickets[{period}]", {}))
        company = summary.metadata.get(f"company_scores[{period}]", {}).get("company_ice_p")
        ice_text = f", company ICE-P {company:.1f}" if isinstance(company, float) else ""
        replaced = summary.metadata.get(f"survey_ratings[{period}]", {}).get(
            "responses_replaced", 0
        )
        if replaced:
            ice_text += f", {replaced} responses replaced by a later file"
        ice_text += held_text(summary.metadata, period)
        checks = checks_text(summary.failed_checks, period)
        return f"{ratings} ratings, {tickets} tickets{ice_text}{checks}"

    def periods_with_data(self, feeds: Sequence[str], table: str | None = None) -> list[str]:
        """Partitions the ingested files of ``feeds`` hold rows for (run_plan.periods_with_data)."""
        return periods_with_data(
            self.settings.data_dir / "cache", self.partition_keys, feeds, table
        )

    def plan_periods(
        self, chosen: Sequence[str], *, all_periods: bool, dry_run: bool
    ) -> PeriodPlan:
        """Which periods to compute and which to skip, and why (run_plan.plan_periods)."""
        from ice_pipeline.config import config_path

        surveyed = self.periods_with_data(("surveys",), "survey_ratings")
        candidates = (
            list(chosen)
            if chosen
            else self.periods_with_data(PERIOD_FEEDS)
            if all_periods
            else surveyed
        )
        base = inputs_fingerprint(
            None,
            config_path(self.settings, self.environ),
            self.environ,
            [*self.unpartitioned_names, *self.partitioned_names],
            dry_run,
        )
        prints = period_fingerprints(base, self.settings.data_dir / "cache", candidates)
        try:
            return self._plan(chosen, all_periods, surveyed, candidates, prints)
        finally:
            self._close_planning_engine()

    def _plan(
        self,
        chosen: Sequence[str],
        all_periods: bool,
        surveyed: list[str],
        candidates: list[str],
        prints: dict[str, str],
    ) -> PeriodPlan:
        return plan_periods(
            chosen,
            all_periods=all_periods,
            partition_keys=self.partition_keys,
            surveyed=surveyed,
            candidates=candidates,
            fingerprints=prints,
            unchanged=lambda period: (
                self._recorded(f"period-{period}") == prints[period]
                and self._period_in_warehouse(period)
            ),
        )

    def fingerprint(self, dry_run: bool) -> str:
        from ice_pipeline.config import config_path

        selection = [*self.unpartitioned_names, *self.partitioned_names]
        return inputs_fingerprint(
            self.settings.data_dir / "landing",
            config_path(self.settings, self.environ),
            self.environ,
            selection,
            dry_run,
        )

    def write_analyst_file(self, summary: RunSummary) -> None:
        """The analysts' DuckDB file, once for all the periods just run (DuckDB warehouse only)."""
        from ice_pipeline.warehouse.analyst_file import analyst_file_present, refresh_analyst_file

        if not summary.periods and analyst_file_present(
            self.settings.warehouse_url, self.settings.data_dir, self.environ
        ):
            return  # nothing new, and the file is there
        from ice_pipeline.defs.resources import WarehouseResource

        engine = WarehouseResource(url=self.settings.warehouse_url).engine()
        try:
            export = refresh_analyst_file(engine, self.settings.data_dir, self.environ)
        except (OSError, IceError) as err:
            summary.failed_step, summary.failure = "analyst_warehouse", str(err)
            return
        if export is not None:
            self.say(f"analyst file {export.path}: {len(export.tables)} tables and views of ice")

    def build_data_docs(self) -> None:
        """Render the GX Data Docs once for all the runs (the checks of CLI runs defer it)."""
        from ice_pipeline.ingest.expectations import build_data_docs

        try:
            build_data_docs(self.settings.gx_dir)
        except (OSError, IceError) as err:  # a convenience; the results are in the warehouse
            self.say(f"warning: GX Data Docs not rebuilt in {self.settings.gx_dir}: {err}")


def dispose_cached_engines() -> None:
    """Close the runs' cached engines; none exist if no run loaded defs/resources.py."""
    if "ice_pipeline.defs.resources" in sys.modules:
        from ice_pipeline.defs.resources import dispose_engines

        dispose_engines()


def _report_failure(summary: RunSummary) -> int:
    period = f" for {summary.periods[-1]}" if summary.periods else ""
    print(
        printable(f"ice-pipeline: step {summary.failed_step} failed{period}: {summary.failure}"),
        file=sys.stderr,
    )
    return 1


def _report_failed_files(summary: RunSummary) -> int:
    """Name every landing file that could not be used; 1 if there is one (the rest went on)."""
    for line in summary.failed_files:
        print(f"ice-pipeline: file not ingested: {line}", file=sys.stderr)
    return 1 if summary.failed_files else 0


def run_pipeline(
    partitions: list[str] | None, all_partitions: bool, dry_run: bool, allow_empty: bool = False
) -> int:
    """``ice-pipeline run``: the periods with new data by default, or the given/all periods."""
    runner = Runner()
    try:
        summary = runner.run(
            partitions, all_periods=all_partitions, dry_run=dry_run, allow_empty=allow_empty
        )
    finally:
        dispose_cached_engines()
    if summary.failure is not None:
        return _report_failure(summary)
    checks_line = checks_summary(summary.failed_checks, len(summary.periods))
    if checks_line:
        runner.say(checks_line)
    runner.say(
        f"done: {len(summary.periods)} period(s)"
        + (f", {len(summary.skipped)} unchanged" if summary.skipped else "")
        + f" in {summary.seconds:.1f} s; warehouse "
        f"{runner.settings.warehouse_url}"
    )
    return _report_failed_files(summary)
