"""Shared machinery of the acceptance tests: the demo run through the domain functions, and scans.

Belongs here: running the pipeline without Dagster (ingest every landing export with the real
readers, then the index computations exactly as ``ice_pipeline/defs/assets_*.py`` call them),
writing the results into a warehouse with ``replace_partition``, and the independent checks the
privacy acceptance test applies to what was published (respondent-level truth recomputed from the
raw ratings with plain pandas, an HTML table reader, e-mail part extraction, identifier patterns).

Does not belong here: assertions (they live in the test files) and any formula of the index
(the point is to call the domain code, not to re-implement it; the only arithmetic here is the
deliberately naive "truth" the privacy test compares published artefacts against).
"""

import email
import email.policy
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import sqlalchemy

from ice_pipeline.index import (
    IndexConfig,
    add_trend,
    compute_correlations,
    compute_period_scores,
    compute_service_kpis,
    compute_turnover,
)
from ice_pipeline.index.departments import department_rows
from ice_pipeline.index.drivers import DriverSettings, key_drivers
from ice_pipeline.ingest.feeds import discover_exports, read_export
from ice_pipeline.warehouse import schema
from ice_pipeline.warehouse.writes import replace_partition

# What the Dagster layer uses (defs/partitions.py, assets_index.py, assets_reports.py); repeated
# here so these tests do not import Dagster (the acceptance tests exercise the domain only).
CORRELATION_WINDOW_PERIODS = 24
ROLLING_MONTHS = 12
SCORE_TABLES = (
    "ice_scores",
    "company_scores",
    "dimension_scores",
    "matrix_scores",
    "consumer_satisfaction",
)
PERIOD_TABLES = (*SCORE_TABLES, "service_kpis", "turnover", "key_drivers")
TEST_SALT = "acceptance-test-salt"


def table_of(name: str) -> sqlalchemy.Table:
    """The schema-of-record table called ``name`` (whatever its schema)."""
    return next(t for t in schema.metadata.tables.values() if t.name == name)


def columns_of(name: str) -> list[str]:
    return [column.name for column in table_of(name).columns]


def periods_back(period: str, count: int) -> list[str]:
    """``count`` monthly periods ending at ``period``, oldest first (as defs/partitions.py)."""
    end = pd.Period(period, freq="M")
    return [str(end - offset) for offset in range(count - 1, -1, -1)]


# ------------------------------------------------------------------------------------------------
# Ingest
# ------------------------------------------------------------------------------------------------


def latest_roster(employees: pd.DataFrame) -> pd.DataFrame:
    """Each employee's row from the newest snapshot holding them (as cache.latest_roster)."""
    if employees.empty:
        return employees
    ordered = employees.sort_values(["employee_id", "snapshot_period"], kind="stable")
    return ordered.drop_duplicates("employee_id", keep="last").sort_values(
        ["department", "employee_id"], ignore_index=True
    )


def ingest_landing(landing: Path, salt: str = TEST_SALT) -> dict[str, pd.DataFrame]:
    """Every export under ``landing/<feed>/`` through ``read_export``; HR first (tickets need it).

    Returns the canonical tables concatenated over files, with exactly the schema's columns.
    """
    exports = discover_exports(landing)
    frames: dict[str, list[pd.DataFrame]] = {}

    def keep(export: object, roster: pd.DataFrame | None) -> None:
        result = read_export(
            export.path,
            feed=export.feed,
            mapping_path=export.mapping_path,
            salt=salt,
            hr_employees=roster,
        )
        for name, frame in result.tables.items():
            frames.setdefault(name, []).append(frame)

    for export in (e for e in exports if e.feed == "hr"):
        keep(export, None)
    roster = latest_roster(
        pd.concat(frames.get("employees", []), ignore_index=True)[columns_of("employees")]
    )
    for export in (e for e in exports if e.feed != "hr"):
        keep(export, roster)
    tables = {
        name: pd.concat(parts, ignore_index=True)[columns_of(name)]
        for name, parts in frames.items()
        if name != "employees"
    }
    tables["employees"] = roster
    return tables


# ------------------------------------------------------------------------------------------------
# The index, as the assets compute it
# ------------------------------------------------------------------------------------------------


@dataclass
class IndexRun:
    """The index tables of every period, and the correlations as of each requested period."""

    periods: list[str]
    by_period: dict[str, dict[str, pd.DataFrame]] = field(default_factory=dict)
    correlations: dict[str, pd.DataFrame] = field(default_factory=dict)

    def table(self, name: str) -> pd.DataFrame:
        """``name`` over every period (periods with no rows left out)."""
        parts = [tables[name] for tables in self.by_period.values() if not tables[name].empty]
        if not parts:
            return pd.DataFrame(columns=columns_of(name))
        return pd.concat(parts, ignore_index=True)


def _rows_of(frame: pd.DataFrame, periods: str | list[str]) -> pd.DataFrame:
    wanted = [periods] if isinstance(periods, str) else periods
    return frame[frame["period"].isin(wanted)].reset_index(drop=True)


def compute_index(
    tables: dict[str, pd.DataFrame],
    periods: list[str],
    config: IndexConfig,
    correlations_as_of: list[str] | None = None,
) -> IndexRun:
    """The calls of assets_index.py for each period: service_kpis, turnover, ice_tables, then
    correlations at each ``correlations_as_of`` period (default: the last period).

    ``periods[0]`` plays the first partition (turnover's ``history_start``).
    """
    run = IndexRun(periods=list(periods))
    first = periods[0]
    ratings_all = tables["survey_ratings"]
    for period in periods:
        # service_kpis asset
        kpis = compute_service_kpis(_rows_of(tables["tickets"], period), period, config)
        # turnover asset: the 12 months ending at the period that the roster is trusted for
        months = [p for p in periods_back(period, ROLLING_MONTHS) if p >= first]
        turnover = compute_turnover(
            tables["employees"], months, history_start=first, min_group=config.k_min_respondents
        )
        turnover = turnover[turnover["period"] == period] if not turnover.empty else turnover
        # ice_tables multi-asset
        before = periods_back(period, 2)[0]
        ratings = _rows_of(ratings_all, period)
        previous_ratings = _rows_of(ratings_all, before)
        scores = compute_period_scores(ratings, kpis, config)
        previous = (
            compute_period_scores(previous_ratings, None, config)
            if not previous_ratings.empty
            else None
        )
        for name in ("ice_scores", "company_scores"):
            scores[name] = add_trend(
                scores[name],
                previous[name] if previous else None,
                ratings,
                previous_ratings if previous else None,
                config,
            )
        # key_drivers asset (defs/assets_drivers.py)
        drivers = key_drivers(
            ratings,
            period,
            config.k_min_respondents,
            DriverSettings(
                outcome=config.key_driver_outcome,
                min_respondents=config.key_driver_min_respondents,
            ),
        )
        run.by_period[period] = {
            **scores,
            "service_kpis": kpis,
            "turnover": turnover.reset_index(drop=True),
            "key_drivers": drivers,
        }
    for as_of in correlations_as_of or [periods[-1]]:
        window = periods_back(as_of, CORRELATION_WINDOW_PERIODS)
        inputs = {
            name: _rows_of(run.table(name), window)
            for name in ("consumer_satisfaction", "ice_scores", "company_scores", "turnover")
        }
        run.correlations[as_of] = compute_correlations(
            inputs["consumer_satisfaction"],
            inputs["ice_scores"],
            inputs["company_scores"],
            inputs["turnover"],
            _rows_of(tables["external_metrics"], window),
            as_of=as_of,
            config=config,
        )
    return run


def write_run(
    engine: sqlalchemy.Engine, tables: dict[str, pd.DataFrame], run: IndexRun
) -> dict[str, int]:
    """Write the canonical and index tables partition by partition, as the assets do."""
    written: dict[str, int] = {}

    def put(name: str, frame: pd.DataFrame, partition: dict[str, object]) -> None:
        written[name] = written.get(name, 0) + replace_partition(
            engine, table_of(name), frame, partition
        )

    put("employees", tables["employees"], {})
    put("department_groups", department_rows(None, demo=True), {})
    for period in run.periods:
        for name in ("survey_ratings", "survey_comments", "tickets", "external_metrics"):
            put(name, _rows_of(tables[name], period), {"period": period})
        for name in PERIOD_TABLES:
            put(name, run.by_period[period][name], {"period": period})
    for as_of, frame in run.correlations.items():
        put("correlations", frame, {"period": as_of})
    return written


# ------------------------------------------------------------------------------------------------
# Independent truth for the privacy scan (plain pandas, no index code)
# ------------------------------------------------------------------------------------------------


def true_matrix(ratings: pd.DataFrame) -> pd.DataFrame:
    """Unsuppressed provider x consumer scores from raw ratings: respondent first, then mean.

    Columns: period, provider_department, consumer_department, n (distinct respondents), score.
    """
    per_respondent = ratings.groupby(
        ["period", "provider_department", "consumer_department", "respondent_id"], observed=True
    )["score"].mean()
    grouped = per_respondent.groupby(
        level=["period", "provider_department", "consumer_department"], observed=True
    )
    return pd.DataFrame({"n": grouped.size(), "score": grouped.mean()}).reset_index()


def true_dimensions(ratings: pd.DataFrame) -> pd.DataFrame:
    """Unsuppressed dimension scores: period, provider_department, dimension, n, score."""
    grouped = ratings.dropna(subset=["score"]).groupby(
        ["period", "provider_department", "dimension"], observed=True
    )
    return pd.DataFrame(
        {"n": grouped["respondent_id"].nunique(), "score": grouped["score"].mean()}
    ).reset_index()


def true_consumers(ratings: pd.DataFrame) -> pd.DataFrame:
    """Unsuppressed consumer satisfaction: period, consumer_department, n, score."""
    pair = ratings.groupby(
        ["period", "consumer_department", "respondent_id", "provider_department"], observed=True
    )["score"].mean()
    respondent = pair.groupby(
        level=["period", "consumer_department", "respondent_id"], observed=True
    ).mean()
    grouped = respondent.groupby(level=["period", "consumer_department"], observed=True)
    return pd.DataFrame({"n": grouped.size(), "score": grouped.mean()}).reset_index()


# ------------------------------------------------------------------------------------------------
# Reading artefacts
# ------------------------------------------------------------------------------------------------


class _TableReader(HTMLParser):
    """Every <table> of an HTML document as a list of rows of cell texts (th and td alike)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[list[list[str]]] = []
        self._stack: list[list[list[str]]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self._stack.append([])
        elif tag == "tr" and self._stack:
            self._stack[-1].append([])
        elif tag in ("td", "th") and self._stack and self._stack[-1]:
            self._cell = []
        elif tag == "br" and self._cell is not None:
            self._cell.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._stack:
            self._stack[-1][-1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "table" and self._stack:
            self.tables.append(self._stack.pop())

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def html_tables(html: str) -> list[list[list[str]]]:
    reader = _TableReader()
    reader.feed(html)
    reader.close()
    return reader.tables


def email_parts(path: Path) -> dict[str, str]:
    """The decoded text/plain and text/html parts of an .eml file (keys 'text', 'html')."""
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    parts: dict[str, str] = {}
    for part in message.walk():
        kind = part.get_content_type()
        if kind == "text/plain":
            parts["text"] = parts.get("text", "") + part.get_content()
        elif kind == "text/html":
            parts["html"] = parts.get("html", "") + part.get_content()
    return parts


def numbers_in(text: str) -> list[float]:
    """Every decimal number written in ``text`` (signs ignored)."""
    return [float(match) for match in re.findall(r"\d+(?:\.\d+)?", text)]


# ------------------------------------------------------------------------------------------------
# Identifier scan
# ------------------------------------------------------------------------------------------------

EMAIL_LIKE = re.compile(r"[^\s@]+@[^\s@]+")
# A 32-hex token standing alone (pseudonyms are 32 hex characters; a 64-hex sha256 is not one).
PSEUDONYM_LIKE = re.compile(r"(?<![0-9a-fA-F])[0-9a-fA-F]{32}(?![0-9a-fA-F])")
IDENTIFIER_COLUMNS = frozenset(
    {"respondent_id", "employee_id", "requester_id", "email", "email_address", "ticket_id"}
)


def identifier_findings(
    frames: dict[str, pd.DataFrame], known_ids: set[str] | frozenset[str] = frozenset()
) -> list[str]:
    """Columns named like identifiers, and cells that look like (or are) personal identifiers."""
    findings = []
    for name, frame in frames.items():
        for column in frame.columns:
            if column.lower() in IDENTIFIER_COLUMNS:
                findings.append(f"{name}.{column}: an identifier column")
            values = frame[column].dropna()
            if values.empty or not (
                pd.api.types.is_object_dtype(values) or pd.api.types.is_string_dtype(values)
            ):
                continue
            texts = values.astype(str)
            for pattern, label in (
                (EMAIL_LIKE, "e-mail-like"),
                (PSEUDONYM_LIKE, "32-hex pseudonym"),
            ):
                hits = texts[texts.str.contains(pattern)]
                if not hits.empty:
                    findings.append(f"{name}.{column}: {label} value {hits.iloc[0][:60]!r}")
            if known_ids:
                hits = texts[texts.isin(known_ids)]
                if not hits.empty:
                    findings.append(f"{name}.{column}: holds a respondent/employee id")
    return findings


# ------------------------------------------------------------------------------------------------
# Independent disclosure rules on published tables (the wording, not suppression.py's code)
# ------------------------------------------------------------------------------------------------

# Columns that may stay filled on a suppressed or small row: keys, flags, counts the schema keeps,
# and figures that come from tickets or the HR roster rather than from survey respondents.
NOT_FROM_RESPONDENTS = frozenset(
    {
        "period",
        "period_start",  # the views' DATE form of period
        "scope",
        "provider_department",
        "consumer_department",
        "dimension",
        "department",
        "suppressed",
        "suppression_reason",
        "satisfaction_suppressed",
        "n_respondents",
        "satisfaction_n_respondents",
        "ice_k",
        "no_tickets",
        "tickets_n",
        "sla_met_pct",
        "reopen_pct",
        "median_resolution_hours",
        "first_assignee_pct",
        "headcount_start",
        "headcount_end",
        "headcount_avg",
        "leavers",
        "voluntary_leavers",
        "involuntary_leavers",
        "turnover_pct",
        "voluntary_turnover_pct",
        "involuntary_turnover_pct",
        "rolling_12m_turnover_pct",
        "retention_pct",
        "turnover_suppressed",
    }
)
COUNT_COLUMNS = ("n_respondents", "satisfaction_n_respondents")
FLAG_COLUMNS = ("suppressed", "satisfaction_suppressed")


def small_group_findings(frames: dict[str, pd.DataFrame], k: int) -> list[str]:
    """Rows resting on fewer than k respondents, or flagged suppressed, that still show a
    survey-derived value; suppressed matrix/consumer rows that still show their count;
    ticket satisfaction from fewer than k answers."""
    findings = []
    for name, frame in frames.items():
        if frame.empty:
            continue
        values = [c for c in frame.columns if c not in NOT_FROM_RESPONDENTS]
        if name == "service_kpis":
            few = pd.to_numeric(frame["satisfaction_n"], errors="coerce") < k
            shown = frame[["satisfaction_mean", "satisfaction_score"]].notna().any(axis=1)
            findings += [
                f"{name}: ticket satisfaction from < {k} answers"
                for _ in range(int((few & shown).sum()))
            ]
            continue
        shown = frame[values].notna().any(axis=1) if values else pd.Series(False, index=frame.index)
        for count in (c for c in COUNT_COLUMNS if c in frame.columns):
            small = pd.to_numeric(frame[count], errors="coerce") < k
            for _, row in frame[small & shown].iterrows():
                keys = {c: row[c] for c in row.index if c in NOT_FROM_RESPONDENTS}
                findings.append(f"{name}: {keys} shows values from {row[count]} respondents")
        for flag in (c for c in FLAG_COLUMNS if c in frame.columns):
            flagged = frame[flag].astype("boolean").fillna(False).astype(bool)
            for _, row in frame[flagged & shown].iterrows():
                findings.append(f"{name}: suppressed row shows values: {dict(row)}")
            count = "n_respondents" if flag == "suppressed" else "satisfaction_n_respondents"
            keeps_count = name in (
                "matrix_scores",
                "consumer_satisfaction",
                "v_provider_consumer_matrix",
                "v_turnover",
                "v_index_by_provider",
                "v_trend",
            )
            if keeps_count and count in frame.columns:
                for _, row in frame[flagged & frame[count].notna()].iterrows():
                    findings.append(f"{name}: suppressed row shows its count: {dict(row)}")
    return findings


def subtraction_findings(
    ice_scores: pd.DataFrame,
    matrix_scores: pd.DataFrame,
    consumer_satisfaction: pd.DataFrame,
    company_scores: pd.DataFrame,
    k: int,
) -> list[str]:
    """Suppressed cells recoverable from a published total and the published other cells.

    Lines (issue 4, "Anonymity"): a matrix row against its provider's published ICE-P and n
    (additive: each respondent belongs to one consumer department); a matrix column against the
    consumer department's published satisfaction; the consumer departments against the company
    total (additive). A line with a published total must not have exactly one suppressed cell, and
    in an additive line the suppressed cells together must hold at least k respondents.
    """
    findings = []

    def hidden_of(frame: pd.DataFrame) -> pd.Series:
        return frame["suppressed"].astype("boolean").fillna(False).astype(bool)

    for period in sorted(set(matrix_scores["period"]) | set(consumer_satisfaction["period"])):
        matrix = matrix_scores[matrix_scores["period"] == period]
        ice = ice_scores[ice_scores["period"] == period].set_index("provider_department")
        consumers = consumer_satisfaction[consumer_satisfaction["period"] == period]
        company = company_scores[company_scores["period"] == period]

        for provider, cells in matrix.groupby("provider_department"):
            if provider not in ice.index or bool(ice.loc[provider, "suppressed"]):
                continue
            hidden = hidden_of(cells)
            if hidden.sum() == 1:
                findings.append(
                    f"{period} row {provider}: one suppressed cell under a published total"
                )
            if hidden.any():
                hidden_n = float(ice.loc[provider, "n_respondents"]) - float(
                    pd.to_numeric(cells.loc[~hidden, "n_respondents"]).sum()
                )
                if hidden_n < k:
                    findings.append(
                        f"{period} row {provider}: suppressed cells hold {hidden_n:g} < {k}"
                    )
        published_consumers = set(consumers.loc[~hidden_of(consumers), "consumer_department"])
        for consumer, cells in matrix.groupby("consumer_department"):
            if consumer in published_consumers and hidden_of(cells).sum() == 1:
                findings.append(
                    f"{period} column {consumer}: one suppressed cell under a published total"
                )
        if not company.empty and company["ice_p"].notna().all() and not consumers.empty:
            hidden = hidden_of(consumers)
            if hidden.sum() == 1:
                findings.append(f"{period} consumer margin: one suppressed department")
            if hidden.any():
                hidden_n = float(company["n_respondents"].iloc[0]) - float(
                    pd.to_numeric(consumers.loc[~hidden, "n_respondents"]).sum()
                )
                if hidden_n < k:
                    findings.append(
                        f"{period} consumer margin: suppressed departments hold {hidden_n:g} < {k}"
                    )
    return findings
