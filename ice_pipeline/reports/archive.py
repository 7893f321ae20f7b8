"""The report archive: every rendered report version, in ``ice_ops.report_archive`` and as a file.

A version is identified by (period, kind, audience, version). Archiving HTML whose sha256 equals
the newest version's returns that version unchanged (no new row, no new file); different HTML
becomes version + 1. Older versions are superseded: their rows (and HTML) stay in
``ice_ops.report_archive`` for the auditor, but their files are removed from the reports
directory and ``report show`` serves only the current version (issue 11). The executive summary
also keeps its PDF (issue 14): in the row's ``pdf_base64`` column (for the auditor, every
version) and as ``<kind>-v<version>.pdf`` beside the HTML file, removed with it when superseded.
``generated_at`` and the run id live in the row, never in the HTML, which is why re-rendering the
same inputs gives the same bytes. The CLI's ``report list`` / ``report show`` call
:func:`print_report_list` and :func:`show_report`.
Rows are single reports, so plain SQLAlchemy Core inserts are used (bulk loading is for data).
"""

import base64
import hashlib
import json
import math
import os
import re
import sys
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy
from sqlalchemy import insert, select

from ice_pipeline.disk import disk_full_is_a_failure
from ice_pipeline.errors import IceError, printable
from ice_pipeline.warehouse import schema

_PERIOD = re.compile(r"^\d{4}-(\d{2}|Q[1-4])$")
_SAFE_FILE_CHARS = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class ArchivedReport:
    """One stored report version."""

    period: str
    kind: str
    audience: str
    version: int
    html: str
    content_sha256: str
    input_fingerprints: dict[str, str]
    generated_at: datetime
    run_id: str | None
    file_path: str | None
    created: bool  # False when identical content was already archived as this version
    pdf: bytes | None = None  # the executive summary printed to PDF; None for other kinds

    @property
    def pdf_path(self) -> Path | None:
        """The served PDF file beside the HTML file (None when superseded or without a PDF)."""
        if self.pdf is None or self.file_path is None:
            return None
        return pdf_path_of(Path(self.file_path))


def _canonical(value: Any) -> str:
    """One stable text per value, so the same data read from DuckDB, PostgreSQL or pandas agrees."""
    if value is None or value is pd.NA or value is pd.NaT:
        return "\\N"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        number = float(value)
        if math.isnan(number):
            return "\\N"
        return format(number, ".12g")  # 5 and 5.0 agree; 12 digits absorb float noise
    if isinstance(value, datetime | date | pd.Timestamp):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalars
        return _canonical(value.item())
    return str(value)


def _canonical_column(values: pd.Series) -> list[str]:
    """``_canonical`` of every value of one column, computed per column type.

    The same strings as calling ``_canonical`` on each cell (the fingerprints stay comparable
    with those already archived), without a Python call per cell for the common column types:
    a period's report inputs hold a few hundred thousand cells.
    """
    dtype = values.dtype
    if pd.api.types.is_bool_dtype(dtype):
        missing = values.isna().to_numpy()
        text = np.where(values.fillna(False).to_numpy(dtype=bool), "true", "false").astype(object)
        text[missing] = "\\N"
        return text.tolist()
    if pd.api.types.is_numeric_dtype(dtype):
        numbers = values.astype("float64").to_numpy()
        return ["\\N" if number != number else format(number, ".12g") for number in numbers]
    if pd.api.types.is_object_dtype(dtype) or isinstance(dtype, pd.CategoricalDtype):
        codes, uniques = pd.factorize(values)
        plain = np.asarray(uniques, dtype=object)
        # Only all-text columns go through distinct values: for text, equal means identical,
        # whereas 1, 1.0 and True (or 0.0 and -0.0) are equal keys with different canonical forms.
        if all(type(value) is str for value in plain):
            text = np.append(plain, "\\N")  # code -1 (missing) picks the last entry
            return text[codes].tolist()
    return [_canonical(value) for value in values.tolist()]


def fingerprint_frame(frame: pd.DataFrame) -> str:
    """sha256 of a table's rows, independent of row order, column order and dtype details."""
    columns = sorted(str(column) for column in frame.columns)
    ordered = frame.reindex(columns=columns)
    texts = [_canonical_column(ordered.iloc[:, i]) for i in range(len(columns))]
    # No columns: whatever itertuples gives, as the cell-by-cell definition had it.
    rows = (
        sorted(zip(*texts, strict=True))
        if texts
        else sorted(ordered.itertuples(index=False, name=None))
    )
    payload = json.dumps([columns, rows], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def input_fingerprints(tables: Mapping[str, pd.DataFrame]) -> dict[str, str]:
    """Table name -> fingerprint of its rows, sorted by name (stored as JSON with each report)."""
    return {name: fingerprint_frame(tables[name]) for name in sorted(tables)}


def _file_stem(kind: str) -> str:
    """A file-name-safe form of the kind; a short hash keeps distinct kinds distinct."""
    safe = _SAFE_FILE_CHARS.sub("_", kind).strip("._") or "report"
    if safe == kind:
        return kind
    return f"{safe[:60]}-{hashlib.sha256(kind.encode('utf-8')).hexdigest()[:8]}"


def report_path(reports_dir: Path, period: str, kind: str, version: int) -> Path:
    """``<reports_dir>/<period>/<kind>-v<version>.html`` (kind made file-name safe)."""
    if not _PERIOD.match(period):
        raise ValueError(f"period {period!r} is not YYYY-MM or YYYY-Qn")
    return reports_dir / period / f"{_file_stem(kind)}-v{version}.html"


def pdf_path_of(html_path: Path) -> Path:
    """The PDF kept beside an archived HTML file (same stem and version)."""
    return html_path.with_suffix(".pdf")


def _write_atomically(path: Path, text: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        if isinstance(text, bytes):
            with os.fdopen(handle, "wb") as binary:
                binary.write(text)
        else:
            with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
                stream.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _from_row(row: Mapping[str, Any], *, created: bool) -> ArchivedReport:
    return ArchivedReport(
        period=row["period"],
        kind=row["kind"],
        audience=row["audience"],
        version=int(row["version"]),
        html=row["html"],
        content_sha256=row["content_sha256"],
        input_fingerprints=json.loads(row["input_fingerprints"]),
        generated_at=row["generated_at"],
        run_id=row["run_id"],
        file_path=row["file_path"],
        created=created,
        pdf=_pdf_of(row.get("pdf_base64")),
    )


def _pdf_of(value: Any) -> bytes | None:
    """The PDF of the ``pdf_base64`` column, or None."""
    return base64.b64decode(value) if isinstance(value, str) and value else None


def _base64(pdf: bytes | None) -> str | None:
    return None if pdf is None else base64.b64encode(pdf).decode("ascii")


def _latest_row(
    conn: sqlalchemy.Connection, period: str, kind: str, audience: str
) -> Mapping[str, Any] | None:
    table = schema.report_archive
    return (
        conn.execute(
            select(table)
            .where(table.c.period == period, table.c.kind == kind, table.c.audience == audience)
            .order_by(table.c.version.desc())
            .limit(1)
        )
        .mappings()
        .first()
    )


def _attach_pdf(conn: sqlalchemy.Connection, row: Mapping[str, Any], pdf: bytes) -> ArchivedReport:
    """Store ``pdf`` with an archived version that has none yet (archived before issue 14)."""
    table = schema.report_archive
    conn.execute(
        sqlalchemy.update(table)
        .where(
            table.c.period == row["period"],
            table.c.kind == row["kind"],
            table.c.audience == row["audience"],
            table.c.version == row["version"],
        )
        .values(pdf_base64=_base64(pdf))
    )
    if row["file_path"]:
        target = pdf_path_of(Path(row["file_path"]))
        with disk_full_is_a_failure(target.parent, needed_bytes=len(pdf)):
            _write_atomically(target, pdf)
    return _from_row({**row, "pdf_base64": _base64(pdf)}, created=False)


def archive_report(
    engine: sqlalchemy.Engine,
    *,
    period: str,
    kind: str,
    audience: str,
    html: str,
    input_fingerprints: Mapping[str, str],
    run_id: str | None,
    reports_dir: Path,
    print_pdf: Callable[[str], bytes] | None = None,
) -> ArchivedReport:
    """Store ``html`` as the next version of (period, kind, audience) unless it is unchanged.

    ``print_pdf`` (the executive summary: :func:`ice_pipeline.reports.site.summary_pdf`) turns
    the HTML into the PDF kept with the version. It is called only when a version is created,
    or when the unchanged current version has no PDF yet, and before the transaction opens:
    printing takes seconds and must not hold the warehouse's write lock.
    """
    table = schema.report_archive
    content_sha256 = hashlib.sha256(html.encode("utf-8")).hexdigest()
    with engine.connect() as conn:
        known = _latest_row(conn, period, kind, audience)
    unchanged = known is not None and known["content_sha256"] == content_sha256
    if unchanged and (print_pdf is None or known["pdf_base64"] is not None):
        return _from_row(known, created=False)
    pdf = print_pdf(html) if print_pdf is not None else None
    with engine.begin() as conn:
        latest = _latest_row(conn, period, kind, audience)
        if latest is not None and latest["content_sha256"] == content_sha256:
            if pdf is not None and latest["pdf_base64"] is None:
                return _attach_pdf(conn, latest, pdf)
            return _from_row(latest, created=False)
        version = 1 if latest is None else int(latest["version"]) + 1
        path = report_path(reports_dir, period, kind, version)
        values = {
            "period": period,
            "kind": kind,
            "audience": audience,
            "version": version,
            "html": html,
            "content_sha256": content_sha256,
            "input_fingerprints": json.dumps(dict(sorted(input_fingerprints.items()))),
            # Naive UTC: the column is TIMESTAMP WITHOUT TIME ZONE on both engines.
            "generated_at": datetime.now(UTC).replace(tzinfo=None, microsecond=0),
            "run_id": run_id,
            "file_path": str(path),
            "pdf_base64": _base64(pdf),
        }
        conn.execute(insert(table).values(**values))
        superseded = _withdraw_superseded(conn, period, kind, audience, version)
        # Written inside the transaction: if the file cannot be written, the row is rolled back
        # (and a full disk is one line naming the reports directory, no traceback).
        needed = len(html.encode("utf-8")) + len(pdf or b"")
        with disk_full_is_a_failure(path.parent, needed_bytes=needed):
            _write_atomically(path, html)
            if pdf is not None:
                _write_atomically(pdf_path_of(path), pdf)
    for old_file in superseded:  # after the commit: a rolled-back version leaves them in place
        Path(old_file).unlink(missing_ok=True)
        pdf_path_of(Path(old_file)).unlink(missing_ok=True)  # its PDF is superseded with it
    return _from_row(values, created=True)


def _withdraw_superseded(
    conn: sqlalchemy.Connection, period: str, kind: str, audience: str, current: int
) -> list[str]:
    """Mark the older versions' files as withdrawn; return the files to delete.

    A superseded version is not served to recipients (issue 11): its HTML stays in
    ``ice_ops.report_archive`` for the auditor, but its file leaves the reports directory and
    ``report show`` refuses it, so two versions cannot be set side by side and subtracted.
    """
    table = schema.report_archive
    where = (
        table.c.period == period,
        table.c.kind == kind,
        table.c.audience == audience,
        table.c.version < current,
        table.c.file_path.is_not(None),
    )
    files = [row[0] for row in conn.execute(select(table.c.file_path).where(*where))]
    if files:
        conn.execute(sqlalchemy.update(table).where(*where).values(file_path=None))
    return files


def current_version(engine: sqlalchemy.Engine, *, period: str, kind: str) -> int | None:
    """The newest archived version of a report (the only one served), or None."""
    table = schema.report_archive
    with engine.connect() as conn:
        value = conn.execute(
            select(sqlalchemy.func.max(table.c.version)).where(
                table.c.period == period, table.c.kind == kind
            )
        ).scalar()
    return None if value is None else int(value)


def _open(url: str) -> sqlalchemy.Engine:
    from ice_pipeline.warehouse.engine import connect_warehouse

    engine = connect_warehouse(url)
    if not sqlalchemy.inspect(engine).has_table(
        schema.report_archive.name, schema=schema.OPS_SCHEMA
    ):
        engine.dispose()
        raise IceError(
            "the warehouse has no report archive table (ice_ops.report_archive)",
            fix="run `ice-pipeline warehouse upgrade`, then run the pipeline",
            where="ICE_WAREHOUSE_URL",
        )
    return engine


def list_reports(engine: sqlalchemy.Engine) -> list[dict[str, Any]]:
    """Every archived version without its HTML, ordered by period, kind, audience, version."""
    table = schema.report_archive
    columns = [
        table.c[name]
        for name in (
            "period",
            "kind",
            "audience",
            "version",
            "generated_at",
            "content_sha256",
            "run_id",
            "file_path",
        )
    ]
    with engine.connect() as conn:
        rows = (
            conn.execute(
                select(*columns).order_by(
                    table.c.period, table.c.kind, table.c.audience, table.c.version
                )
            )
            .mappings()
            .all()
        )
    return [dict(row) for row in rows]


def load_report(
    engine: sqlalchemy.Engine,
    *,
    period: str,
    kind: str,
    version: int | None = None,
    audience: str | None = None,
) -> ArchivedReport | None:
    """One archived version (the newest when ``version`` is None), or None."""
    table = schema.report_archive
    query = select(table).where(table.c.period == period, table.c.kind == kind)
    if audience is not None:
        query = query.where(table.c.audience == audience)
    if version is not None:
        query = query.where(table.c.version == version)
    query = query.order_by(table.c.version.desc(), table.c.generated_at.desc(), table.c.audience)
    with engine.connect() as conn:
        row = conn.execute(query.limit(1)).mappings().first()
    return None if row is None else _from_row(row, created=False)


def print_report_list(url: str, period: str | None = None, kind: str | None = None) -> int:
    """``ice-pipeline report list``: one line per archived version (of one period/kind if given)."""
    engine = _open(url)
    try:
        rows = list_reports(engine)
    finally:
        engine.dispose()
    if not rows:
        print("no reports archived yet; run `ice-pipeline run` (or `ice-pipeline demo`)")
        return 0
    rows = [
        row
        for row in rows
        if (period is None or row["period"] == period) and (kind is None or row["kind"] == kind)
    ]
    if not rows:
        print("no archived report matches; `ice-pipeline report list` shows them all")
        return 0
    header = ("period", "kind", "audience", "version", "generated_at (UTC)", "sha256", "run_id")
    lines = [header] + [
        (
            row["period"],
            row["kind"],
            row["audience"],
            str(row["version"]),
            str(row["generated_at"]),
            row["content_sha256"][:12],
            row["run_id"] or "",
        )
        for row in rows
    ]
    widths = [max(len(line[index]) for line in lines) for index in range(len(header))]
    for line in lines:
        row = "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True))
        print(printable(row.rstrip()))  # kinds name departments, which come from the data
    return 0


def show_report(url: str, *, period: str, kind: str, version: int | None, out: Path | None) -> int:
    """``ice-pipeline report show``: print the HTML, or write it to ``out``."""
    engine = _open(url)
    try:
        report = load_report(engine, period=period, kind=kind, version=version)
        newest = current_version(engine, period=period, kind=kind)
        kinds = sorted({row["kind"] for row in list_reports(engine) if row["period"] == period})
    finally:
        engine.dispose()
    if report is not None and newest is not None and report.version < newest:
        raise IceError(
            f"version {report.version} of {kind!r} for {period} is superseded by version "
            f"{newest} and is no longer served (set side by side, two versions could reveal a "
            "group under k)",
            fix=f"show the current version (omit --version); `ice-pipeline audit {period}` "
            "checks every version",
            where="report show",
        )
    if report is None:
        which = f"version {version} of " if version is not None else ""
        known = printable(f"; kinds archived for {period}: {', '.join(kinds)}") if kinds else ""
        raise IceError(
            f"no archived report is {which}kind {kind!r} for period {period}{known}",
            fix="run `ice-pipeline report list` to see the archived periods, kinds and versions",
            where="report show",
        )
    if out is None:
        sys.stdout.write(report.html)
        sys.stdout.flush()
    else:
        _write_atomically(out, report.html)
        print(
            printable(f"wrote {report.kind} {report.period} v{report.version} to {out}"),
            file=sys.stderr,
        )
    return 0
