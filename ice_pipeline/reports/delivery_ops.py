"""What operators see of delivery: a run's closing verdict, ``delivery status`` and ``resolve``.

Belongs here: turning the :class:`~ice_pipeline.reports.delivery.DeliveryOutcome` of every report
of a period into one truthful line (does a retry happen, and when; what must a person do), and
the ``ice-pipeline delivery status PERIOD`` / ``delivery resolve PERIOD`` commands over the ledger
(``ledger.py`` holds the states and the SQL). Nothing here sends mail.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy

from ice_pipeline.reports import ledger
from ice_pipeline.reports.delivery import DeliveryOutcome


@dataclass(frozen=True)
class DeliveryVerdict:
    """The closing line of a period's delivery, and whether the step should be retried."""

    ok: bool
    message: str
    retry: bool  # only temporary failures are worth an automatic retry of the step
    counts: dict[str, int]


def _first_errors(outcomes: Mapping[str, DeliveryOutcome], names: str) -> list[str]:
    found = []
    for kind, outcome in outcomes.items():
        for recipient in getattr(outcome, names):
            found.append(f"{kind} to {recipient}: {outcome.errors.get(recipient, '')}".strip())
    return found


def delivery_verdict(
    period: str,
    outcomes: Mapping[str, DeliveryOutcome],
    *,
    retries_left: int,
    retry_delay_s: float | None,
) -> DeliveryVerdict:
    """One line for the whole period. ``retries_left``: automatic retries of the step still to come.

    A retry is promised only when one will happen: temporary failures and retries left. After
    the last try the line says the next run sends it. Uncertain and permanently refused
    deliveries are never retried automatically; the line names the command that settles them.
    """
    counts = {
        name: sum(len(getattr(o, name)) for o in outcomes.values())
        for name in ("sent", "skipped", "in_progress", "retrying", "failed_permanent", "uncertain")
    }
    retrying = _first_errors(outcomes, "retrying")
    needs_operator = _first_errors(outcomes, "uncertain") + _first_errors(
        outcomes, "failed_permanent"
    )
    if not retrying and not needs_operator:
        return DeliveryVerdict(True, f"{period}: {counts['sent']} sent", False, counts)
    parts = []
    will_retry = bool(retrying) and retries_left > 0
    if retrying:
        if will_retry:
            when = f" in {retry_delay_s:.0f} s" if retry_delay_s is not None else ""
            then = f"this step is retried{when} ({retries_left} automatic retries left)"
        else:
            then = (
                "no automatic retry is left; the next run "
                f"(or `ice-pipeline run --partition {period}`) sends them"
            )
        parts.append(f"{len(retrying)} not delivered for now, {then}: {retrying[0]}")
    if needs_operator:
        parts.append(
            f"{len(needs_operator)} need a decision and are never retried automatically "
            f"(`ice-pipeline delivery status {period}`, then `ice-pipeline delivery resolve "
            f"{period} --as sent|retry|abandon`): {needs_operator[0]}"
        )
    message = f"delivery of {period}: {counts['sent']} sent; " + "; ".join(parts)
    return DeliveryVerdict(False, message, will_retry and not needs_operator, counts)


# ---------------------------------------------------------------------------------------------
# CLI: delivery status / resolve
# ---------------------------------------------------------------------------------------------


def _open(url: str) -> sqlalchemy.Engine:
    """The warehouse, refusing one whose ledger predates the claim columns (not upgraded)."""
    from ice_pipeline.errors import IceError
    from ice_pipeline.reports.archive import _open as open_archive
    from ice_pipeline.warehouse.migrate import current_revision, head_revision

    engine = open_archive(url)
    if current_revision(url) != head_revision():
        engine.dispose()
        raise IceError(
            "the warehouse is not at the newest revision, so its delivery ledger is outdated",
            fix="run `ice-pipeline warehouse upgrade` (or any `ice-pipeline run`), then retry",
            where="ICE_WAREHOUSE_URL",
        )
    return engine


def _line(row: Mapping[str, Any]) -> tuple[str, ...]:
    note = row.get("resolution") or row.get("last_error") or ""
    return (
        row["kind"],
        f"v{row['version']}",
        row["recipient"],
        row["status"],
        str(row["attempts"]),
        str(row["updated_at"]),
        " ".join(str(note).split())[:120],
    )


def print_delivery_status(url: str, period: str) -> int:
    """``ice-pipeline delivery status PERIOD``: every ledger row of the period, settled first.

    Exit status 0 when nothing needs a decision, 1 when some row is ``uncertain`` or
    ``failed_permanent`` (so a script can tell).
    """
    engine = _open(url)
    try:
        rows = ledger.period_rows(engine, period)
    finally:
        engine.dispose()
    if not rows:
        print(f"no deliveries recorded for {period}")
        return 0
    header = ("kind", "version", "recipient", "status", "attempts", "updated (UTC)", "note")
    lines = [header] + [_line(row) for row in rows]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    for line in lines:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        )
    counts = ledger.status_counts(rows)
    print("; ".join(f"{status}: {counts[status]}" for status in sorted(counts)))
    open_rows = sum(counts.get(status, 0) for status in ledger.NEEDS_OPERATOR)
    if open_rows:
        print(
            f"{open_rows} need a decision: `ice-pipeline delivery resolve {period} "
            "--as sent` (the server's log shows it arrived), `--as retry` (send again on the next "
            "run) or `--as abandon`; narrow with --recipient/--kind/--version"
        )
        return 1
    return 0


def resolve_deliveries(
    url: str,
    period: str,
    *,
    outcome: str,
    recipient: str | None,
    kind: str | None,
    version: int | None,
    note: str | None,
) -> int:
    """``ice-pipeline delivery resolve PERIOD --as sent|retry|abandon``."""
    engine = _open(url)
    try:
        changed = ledger.resolve(
            engine,
            period,
            outcome=outcome,
            recipient=recipient,
            kind=kind,
            version=version,
            note=note,
        )
    finally:
        engine.dispose()
    for row in changed:
        print(f"{row['kind']} v{row['version']} to {row['recipient']}: now {row['status']}")
    if outcome == "retry":
        print(f"the next run sends them: ice-pipeline run --partition {period}")
    return 0
