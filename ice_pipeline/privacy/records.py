"""The record of what each period published: figures per version, respondents, decisions.

What belongs here: reading and writing ``ice_ops.published_figures`` (every version of a
period's five score tables, row by row as JSON), ``ice_private.published_respondents`` (who the
current version rests on, with a hash of their answers) and ``ice_ops.publication_log`` (per
period, the latest run's decision: the version and the responses held back, counted). What to
decide from them is :func:`ice_pipeline.index.versions.protect_publication`.

Rows are kept as JSON text rather than in typed copies of each score table, so the record needs
no migration when a score table gains a column; :func:`figures_as_tables` types them again from
schema.py.
"""

import json
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import sqlalchemy
from sqlalchemy import Boolean, Float, Integer

from ice_pipeline.index.versions import (
    FIGURE_KEYS,
    Publication,
    PublishedRecord,
    respondent_count,
    respondent_hashes,
)
from ice_pipeline.warehouse import schema
from ice_pipeline.warehouse.writes import read_frame, replace_partition, upsert_rows

# Significant digits a recorded figure keeps. The warehouse sums in its own order (DuckDB in
# parallel, PostgreSQL in its own), so the last bits of a mean differ between engines and runs;
# ten digits are far beyond any published precision and far inside the 1e-7 within which
# versions.same_figures takes two figures as the same, and make the record the same everywhere.
RECORDED_DIGITS = 10


def _json_value(value: Any) -> Any:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if hasattr(value, "item"):  # numpy scalars
        value = value.item()
    if isinstance(value, float):
        return None if math.isnan(value) else float(f"{value:.{RECORDED_DIGITS}g}")
    return value


def _score_table(name: str) -> sqlalchemy.Table:
    return schema.metadata.tables[f"{schema.AGGREGATE_SCHEMA}.{name}"]


def figure_rows(period: str, version: int, tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """The rows of ``ice_ops.published_figures`` for one version of one period."""
    records = []
    for name, keys in FIGURE_KEYS.items():
        frame = tables.get(name)
        if frame is None or frame.empty:
            continue
        rows = frame[frame["period"] == period]
        for row in rows.to_dict(orient="records"):
            clean = {column: _json_value(value) for column, value in row.items()}
            suppressed = clean.get("suppressed")
            if name == "company_scores":
                suppressed = clean.get("ice_p") is None
            records.append(
                {
                    "period": period,
                    "version": version,
                    "table_name": name,
                    "row_key": json.dumps([clean[key] for key in keys]),
                    "n_respondents": clean.get("n_respondents"),
                    "suppressed": bool(suppressed),
                    "row_json": json.dumps(clean, sort_keys=True),
                }
            )
    return pd.DataFrame(records, columns=[c.name for c in schema.published_figures.columns])


def figures_as_tables(rows: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """``published_figures`` rows of one version back as typed score tables."""
    tables = {}
    for name in FIGURE_KEYS:
        part = rows[rows["table_name"] == name]
        table = _score_table(name)
        frame = pd.DataFrame(
            [json.loads(text) for text in part["row_json"]],
            columns=[column.name for column in table.columns],
        )
        for column in table.columns:
            if isinstance(column.type, Integer):
                frame[column.name] = pd.array(frame[column.name].tolist(), dtype="Int64")
            elif isinstance(column.type, Float):
                frame[column.name] = pd.to_numeric(frame[column.name]).astype(float)
            elif isinstance(column.type, Boolean):
                frame[column.name] = pd.array(frame[column.name].tolist(), dtype="boolean")
        tables[name] = frame
    return tables


def figure_versions(engine: sqlalchemy.Engine, period: str) -> dict[int, dict[str, pd.DataFrame]]:
    """Every recorded version of ``period``'s published figures, by version number."""
    rows = read_frame(engine, schema.published_figures, where={"period": period})
    return {
        int(version): figures_as_tables(part)
        for version, part in sorted(rows.groupby("version"), key=lambda item: item[0])
    }


def read_record(engine: sqlalchemy.Engine, period: str) -> PublishedRecord | None:
    """The newest published version of ``period``, or None before its first publication.

    A period the warehouse already holds but the record does not (published before this record
    existed, i.e. before migration 0002_versions) is read from the warehouse as version 1 with
    unknown respondents, so the first re-run after an upgrade is protected as well.
    """
    versions = figure_versions(engine, period)
    if not versions:
        current = {
            name: read_frame(engine, _score_table(name), where={"period": period})
            for name in FIGURE_KEYS
        }
        if current["company_scores"].empty:
            return None
        return PublishedRecord(1, current, None)
    latest = max(versions)
    respondents = read_frame(engine, schema.published_respondents, where={"period": period})
    hashes = pd.Series(
        respondents["answers_hash"].tolist(),
        index=respondents["respondent_id"].astype(str).tolist(),
        dtype=object,
        name="answers_hash",
    )
    return PublishedRecord(latest, versions[latest], hashes)


def record_publication(
    engine: sqlalchemy.Engine,
    period: str,
    publication: Publication,
    *,
    policy: str,
    run_id: str | None,
) -> None:
    """Keep a new version's figures and respondents, and log the run's decision either way."""
    if publication.new_version:
        replace_partition(
            engine,
            schema.published_figures,
            figure_rows(period, publication.version, publication.tables),
            {"period": period, "version": publication.version},
        )
        hashes = respondent_hashes(publication.basis)
        respondents = pd.DataFrame(
            {
                "period": period,
                "respondent_id": hashes.index.astype(str),
                "answers_hash": hashes.to_numpy(),
                "version": publication.version,
            }
        )
        replace_partition(engine, schema.published_respondents, respondents, {"period": period})
    changes = publication.changes
    decision = publication.decision
    if decision == "unchanged":  # the state stays as it came about (a re-run changes nothing)
        earlier = publication_log(engine, period)
        if not earlier.empty and earlier["decision"].iloc[0] in ("first", "republished"):
            decision = str(earlier["decision"].iloc[0])
    log = pd.DataFrame(
        [
            {
                "period": period,
                "run_id": run_id,
                "updated_at": datetime.now(UTC).replace(tzinfo=None, microsecond=0),
                "decision": decision,
                "version": publication.version,
                "policy": policy,
                "respondents_published": respondent_count(publication.basis),
                "late_respondents": len(changes.late),
                "late_ratings": publication.late_ratings,
                "held_respondents": publication.held_respondents,
                "changed_respondents": len(changes.changed),
                "withdrawn_respondents": len(changes.withdrawn),
                "findings": "\n".join(publication.findings) or None,
            }
        ]
    )
    upsert_rows(engine, schema.publication_log, log)


def publication_log(engine: sqlalchemy.Engine, period: str | None = None) -> pd.DataFrame:
    """The logged decisions (all periods, or one), oldest first."""
    where = {"period": period} if period is not None else None
    return read_frame(engine, schema.publication_log, where=where, order_by=["period"])
