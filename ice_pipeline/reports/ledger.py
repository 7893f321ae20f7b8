"""The delivery ledger (``ice_ops.delivery_ledger``): atomic claims, outcomes, operator resolutions.

One row per (period, kind, audience, version, recipient). A delivery *claims* the row before it
hands a message over: a conditional insert (``INSERT ... ON CONFLICT DO NOTHING RETURNING``) for a
new key, or a conditional update of a ``retrying`` row. Both are single statements on DuckDB and
PostgreSQL, so of two runs at once exactly one wins each key; the loser sees the winner's row and
leaves it alone. That is what makes delivery exactly-once under concurrency.

States (``status``) and what a later delivery does with each:

==================  =====================================================================
``pending``         claimed by a delivery that is handing it over right now. Left alone while
                    that delivery lives; once it is gone (killed), the outbox transport settles
                    it by the .eml file's existence (``outbox`` or released), SMTP marks it
                    ``uncertain``.
``sent``            the SMTP server accepted it (250 to the end of DATA, even if the reply to
                    QUIT was lost). Never sent again.
``outbox``          the .eml file was written. Never written again.
``retrying``        not delivered, and nothing reached the transport or the server refused it
                    for now (4xx, refused connection, timeout before the end of DATA, no space
                    left to write the .eml, a mail setting to fix). The next run sends it.
``failed_permanent`` the server refused this recipient (5xx). Not retried automatically; runs
                    report it until an operator resolves it.
``uncertain``       the end of DATA reached the server but its answer was lost, or a run died
                    while handing it over: it may have been delivered. Never retried
                    automatically; ``ice-pipeline delivery resolve`` settles it.
``abandoned``       an operator decided it must not be sent. Never sent, not reported.
==================  =====================================================================

``claimed_by`` is ``host:pid:token`` of the delivery that claimed the row. It counts as alive
while its token is active in this process; for another process of this host, while that PID
exists and the claim is younger than :data:`CLAIM_LEASE`; for another host, for the lease.
``target`` is where the message went (the outbox path or ``smtp://host:port``), kept here
instead of internal headers.
"""

import getpass
import os
import socket
import threading
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from ice_pipeline.errors import IceError
from ice_pipeline.warehouse import schema

DONE_STATUSES = ("sent", "outbox")
CLAIMABLE_STATUSES = ("retrying",)
NEEDS_OPERATOR = ("failed_permanent", "uncertain")
# A claim is presumed dead after this long, even if a process with its PID exists (PIDs are
# reused); a claim from another machine, whose process cannot be looked up, is presumed alive
# until then. A delivery holds a claim for its attempts and back-off: minutes, not an hour.
CLAIM_LEASE = timedelta(hours=1)
RESOLUTIONS = {"sent": "sent", "retry": "retrying", "abandon": "abandoned"}
_CLAIM_TRIES = 5

_ACTIVE_TOKENS: set[str] = set()
_ACTIVE_LOCK = threading.Lock()


def now() -> datetime:
    """Naive UTC, second precision: the ledger's timestamp columns have no time zone."""
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


@dataclass(frozen=True)
class LedgerKey:
    """The ledger's primary key: one report version to one recipient."""

    period: str
    kind: str
    audience: str
    version: int
    recipient: str

    def values(self) -> dict[str, Any]:
        return {
            "period": self.period,
            "kind": self.kind,
            "audience": self.audience,
            "version": self.version,
            "recipient": self.recipient,
        }

    def where(self) -> list[Any]:
        table = schema.delivery_ledger
        return [table.c[name] == value for name, value in self.values().items()]


@contextmanager
def active_claims() -> Iterator[str]:
    """A fresh claim token, known as alive in this process until the block ends."""
    token = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
    with _ACTIVE_LOCK:
        _ACTIVE_TOKENS.add(token)
    try:
        yield token
    finally:
        with _ACTIVE_LOCK:
            _ACTIVE_TOKENS.discard(token)


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by another user
        return True
    return True


def claim_alive(claimed_by: str | None, claimed_at: datetime | None) -> bool:
    """Is the delivery that wrote ``claimed_by`` still running?"""
    if not claimed_by:
        return False
    host, _, rest = claimed_by.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname():
        return claimed_at is not None and now() - claimed_at < CLAIM_LEASE
    if not pid_text.isdigit():
        return False
    if int(pid_text) == os.getpid():
        with _ACTIVE_LOCK:
            return claimed_by in _ACTIVE_TOKENS
    # The lease too: after a reboot the PID may belong to an unrelated process by now.
    fresh = claimed_at is not None and now() - claimed_at < CLAIM_LEASE
    return fresh and _process_exists(int(pid_text))


def _is_outbox_target(target: str | None) -> bool:
    return bool(target) and not str(target).startswith("smtp://")


@dataclass
class Claim:
    """The result of :func:`claim`: won (this delivery hands it over) or the row as found."""

    won: bool
    attempts: int
    row: dict[str, Any] | None


def read_row(engine: sqlalchemy.Engine, key: LedgerKey) -> dict[str, Any] | None:
    with engine.connect() as conn:
        row = conn.execute(select(schema.delivery_ledger).where(*key.where())).mappings().first()
    return None if row is None else dict(row)


def _conditional(
    engine: sqlalchemy.Engine, key: LedgerKey, condition: list[Any], **values: Any
) -> dict[str, Any] | None:
    """UPDATE the row if ``condition`` holds (one statement); the updated row or None."""
    table = schema.delivery_ledger
    with engine.begin() as conn:
        row = (
            conn.execute(
                update(table)
                .where(*key.where(), *condition)
                .values(**values, updated_at=now())
                .returning(*table.c)
            )
            .mappings()
            .first()
        )
    return None if row is None else dict(row)


def _try_claim(
    engine: sqlalchemy.Engine, key: LedgerKey, token: str, target: str | None
) -> Claim | None:
    table = schema.delivery_ledger
    stamp = now()
    claimed = {"status": "pending", "claimed_by": token, "claimed_at": stamp, "target": target}
    with engine.begin() as conn:
        inserted = conn.execute(
            pg_insert(table)
            .values(**key.values(), **claimed, attempts=0, updated_at=stamp)
            .on_conflict_do_nothing()
            .returning(table.c.attempts)
        ).first()
    if inserted is not None:
        return Claim(True, 0, None)
    status = table.c.status
    reclaimed = _conditional(engine, key, [status.in_(CLAIMABLE_STATUSES)], **claimed)
    if reclaimed is not None:
        return Claim(True, int(reclaimed["attempts"]), None)
    row = read_row(engine, key)
    if row is None:
        return None  # deleted by hand in between: try again
    if row["status"] == "pending" and not claim_alive(row["claimed_by"], row["claimed_at"]):
        return _settle_abandoned(engine, key, row, token, target)
    return Claim(False, int(row["attempts"]), row)


def _settle_abandoned(
    engine: sqlalchemy.Engine, key: LedgerKey, row: dict[str, Any], token: str, target: str | None
) -> Claim:
    """A ``pending`` row whose delivery died: the outbox file settles it, else it is uncertain."""
    table = schema.delivery_ledger
    same_claim = [table.c.status == "pending", table.c.claimed_by == row["claimed_by"]]
    attempts = int(row["attempts"])
    if _is_outbox_target(row["target"]):
        if Path(row["target"]).is_file():
            settled = _conditional(
                engine,
                key,
                same_claim,
                status="outbox",
                last_error=None,
                resolution="settled automatically: the .eml file exists",
            )
            return Claim(False, attempts, settled or read_row(engine, key))
        # The outbox writes by rename: no file means nothing was handed over. Take it over.
        taken = _conditional(
            engine, key, same_claim, claimed_by=token, claimed_at=now(), target=target
        )
        if taken is not None:
            return Claim(True, attempts, None)
        return Claim(False, attempts, read_row(engine, key))
    marked = _conditional(
        engine,
        key,
        same_claim,
        status="uncertain",
        last_error=f"the delivery {row['claimed_by']} stopped while handing it to the server",
    )
    return Claim(False, attempts, marked or read_row(engine, key))


def claim(engine: sqlalchemy.Engine, key: LedgerKey, token: str, target: str | None) -> Claim:
    """Claim ``key`` for the delivery ``token``, atomically on both engines.

    DuckDB detects two transactions writing one key as a conflict and fails the later one
    instead of waiting; that delivery lost the race, so the row is read again.
    """
    last: Exception | None = None
    for _ in range(_CLAIM_TRIES):
        try:
            result = _try_claim(engine, key, token, target)
        except sqlalchemy.exc.DBAPIError as err:
            if "conflict" not in str(err).lower() and "duplicate key" not in str(err).lower():
                raise
            last = err
            continue
        if result is not None:
            return result
    raise RuntimeError(f"could not claim the delivery ledger row {key}") from last


def record(engine: sqlalchemy.Engine, key: LedgerKey, token: str, **values: Any) -> None:
    """Write the outcome of this delivery's claim (nothing if an operator changed it meanwhile)."""
    _conditional(engine, key, [schema.delivery_ledger.c.claimed_by == token], **values)


def ledger_rows(engine: sqlalchemy.Engine, report: Any) -> dict[str, dict[str, Any]]:
    """Recipient -> ledger row of one report version (an ``ArchivedReport``)."""
    table = schema.delivery_ledger
    with engine.connect() as conn:
        rows = conn.execute(
            select(table).where(
                table.c.period == report.period,
                table.c.kind == report.kind,
                table.c.audience == report.audience,
                table.c.version == report.version,
            )
        ).mappings()
        return {row["recipient"]: dict(row) for row in rows}


# ---------------------------------------------------------------------------------------------
# Operator commands: status and resolve
# ---------------------------------------------------------------------------------------------


def period_rows(engine: sqlalchemy.Engine, period: str) -> list[dict[str, Any]]:
    """Every ledger row of ``period``, after settling rows whose delivery died.

    A ``pending`` row whose delivery is gone is settled as a new delivery would: by the .eml
    file's existence for the outbox (``outbox``, or released to ``retrying``), else
    ``uncertain``.
    """
    table = schema.delivery_ledger
    query = (
        select(table)
        .where(table.c.period == period)
        .order_by(table.c.kind, table.c.version, table.c.recipient)
    )
    with engine.connect() as conn:
        rows = [dict(row) for row in conn.execute(query).mappings()]
    settled = []
    for row in rows:
        if row["status"] == "pending" and not claim_alive(row["claimed_by"], row["claimed_at"]):
            key = LedgerKey(*(row[name] for name in LedgerKey.__dataclass_fields__))
            if _is_outbox_target(row["target"]) and not Path(row["target"]).is_file():
                row = _conditional(
                    engine,
                    key,
                    [table.c.status == "pending", table.c.claimed_by == row["claimed_by"]],
                    status="retrying",
                    last_error="released: the delivery stopped before the .eml file was written",
                ) or read_row(engine, key)
            else:
                with active_claims() as token:
                    _settle_abandoned(engine, key, row, token, row["target"])
                row = read_row(engine, key)
        if row is not None:
            settled.append(row)
    return settled


def resolve(
    engine: sqlalchemy.Engine,
    period: str,
    *,
    outcome: str,
    recipient: str | None = None,
    kind: str | None = None,
    version: int | None = None,
    note: str | None = None,
) -> list[dict[str, Any]]:
    """Settle the ``uncertain`` / ``failed_permanent`` rows of ``period`` (optionally narrowed).

    ``outcome`` is ``sent`` (the server's log shows it arrived), ``retry`` (the next run sends it
    again) or ``abandon`` (never send it). Returns the rows changed; refuses to match nothing.
    """
    if outcome not in RESOLUTIONS:
        raise IceError(
            f"{outcome!r} is not a resolution",
            fix="use --as sent, --as retry or --as abandon",
            where="delivery resolve",
        )
    period_rows(engine, period)  # settles dead 'pending' rows first
    table = schema.delivery_ledger
    conditions = [table.c.period == period, table.c.status.in_(NEEDS_OPERATOR)]
    for column, value in (("recipient", recipient), ("kind", kind), ("version", version)):
        if value is not None:
            conditions.append(table.c[column] == value)
    who = _operator()
    text = f"{RESOLUTIONS[outcome]} by {who} at {now().isoformat()} (was %s)"
    if note:
        text += f": {' '.join(note.split())}"
    changed = []
    with engine.begin() as conn:
        rows = [dict(row) for row in conn.execute(select(table).where(*conditions)).mappings()]
        for row in rows:
            key = LedgerKey(*(row[name] for name in LedgerKey.__dataclass_fields__))
            conn.execute(
                update(table)
                .where(*key.where(), table.c.status == row["status"])
                .values(
                    status=RESOLUTIONS[outcome],
                    resolution=text % row["status"],
                    updated_at=now(),
                )
            )
            changed.append({**row, "status": RESOLUTIONS[outcome]})
    if not changed:
        narrowed = ", ".join(
            f"{name} {value}"
            for name, value in (("recipient", recipient), ("kind", kind), ("version", version))
            if value is not None
        )
        raise IceError(
            f"no uncertain or failed_permanent delivery of {period}"
            + (f" matches {narrowed}" if narrowed else ""),
            fix=f"run `ice-pipeline delivery status {period}` to see the ledger",
            where="delivery resolve",
        )
    return changed


def _operator() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown user"


def status_counts(rows: list[Mapping[str, Any]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["status"]] = counts.get(row["status"], 0) + 1
    return counts
