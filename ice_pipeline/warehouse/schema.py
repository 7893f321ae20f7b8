"""The schema of record: every warehouse table, declared once.

Migrations (``ice_pipeline/warehouse/migrations``) are written from these declarations and the
analyst views in ``sql/views`` read from them. Nothing else in the project may create tables.

Three schemas keep the privacy boundary visible in SQL:

* ``ice``          the analyst surface: aggregate tables (never one row per person) and the views.
* ``ice_private``  row-level feeds (survey ratings, tickets, roster) and quarantined raw values.
                   Identifiers here are salted hashes, but rows are still per person, so analysts
                   get no grant on this schema.
* ``ice_ops``      operational state: source-file ledger, report archive, delivery ledger, run log.

The ``ice_ops`` tables and the publication versions are declared in ``schema_ops`` and the
shared names (``metadata``, schema names, column groups) in ``schema_core``; every table is
imported here, so ``schema.X`` reaches all of them.

Conventions: ``period`` is the partition key text (``YYYY-MM`` monthly, ``YYYY-Qn`` quarterly);
columns carry their unit as a suffix (``_pct`` 0-100, ``_hours``, ``_at`` timestamps, ``_date``);
every score is on the 0-100 scale; ``n_respondents`` counts distinct respondents; ``suppressed``
true means the values of that row are NULL because the group is under the anonymity threshold.
Composite natural keys are used throughout because DuckDB has no SERIAL (see ../shared/STACK.md).
"""

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    Integer,
    String,
    Table,
    Text,
)

from ice_pipeline.warehouse import schema_core
from ice_pipeline.warehouse.schema_core import (
    AGGREGATE_SCHEMA,
    PRIVATE_SCHEMA,
    _interval,
    _provenance,
    metadata,
)

# Declared in schema_core (shared with schema_ops without a circular import); re-exported here.
OPS_SCHEMA = schema_core.OPS_SCHEMA
ALL_SCHEMAS = schema_core.ALL_SCHEMAS

# --------------------------------------------------------------------------------------------
# ice_private: row-level canonical feeds
# --------------------------------------------------------------------------------------------

survey_ratings = Table(
    "survey_ratings",
    metadata,
    Column("period", String(16), primary_key=True),
    Column("respondent_id", String(64), primary_key=True),  # salted hash, never the raw id
    Column("provider_department", Text, primary_key=True),
    Column("dimension", Text, primary_key=True),
    Column("consumer_department", Text, nullable=False),
    Column("rating_raw", Float, nullable=False),  # on the original scale, after label->number
    Column("scale_min", Float, nullable=False),
    Column("scale_max", Float, nullable=False),
    Column("reversed", Boolean, nullable=False),
    Column("score", Float, nullable=False),  # 0-100 after reversal
    Column("favourable", Boolean, nullable=False),  # top two boxes of the original scale
    Column("responded_at", DateTime),
    *_provenance(),
    schema=PRIVATE_SCHEMA,
    comment="One rating: a respondent of a consumer department rating a provider on one dimension.",
    # A VIEW over the coded tables below (migration 0008_coded), with exactly these columns:
    # analysts, tests and readers read it as before; writes.replace_partition writes the coded
    # tables when given it (writes_surveys.py).
    info={"view": True},
)

# The coded long table: answers narrow with integer keys, the text each answer of a response (or
# an item) repeated stored once: a 2.4M-row text column cost ~0.6-0.75 s of CPU to store. A
# period's keys are one contiguous range allocated by writes_surveys.py (64-bit: keys grow).
survey_responses = Table(
    "survey_responses",
    metadata,
    Column("response_key", BigInteger, primary_key=True, autoincrement=False),
    Column("period", String(16), nullable=False),
    Column("respondent_id", String(64), nullable=False),  # salted hash, never the raw id
    Column("consumer_department", Text, nullable=False),
    Column("responded_at", DateTime),
    *_provenance(),
    schema=PRIVATE_SCHEMA,
    comment="One response: what every answer of one respondent in one export row shares.",
)

survey_items = Table(
    "survey_items",
    metadata,
    Column("item_key", Integer, primary_key=True, autoincrement=False),
    Column("period", String(16), nullable=False),
    Column("provider_department", Text, nullable=False),
    Column("dimension", Text, nullable=False),
    Column("scale_min", Float, nullable=False),
    Column("scale_max", Float, nullable=False),
    Column("reversed", Boolean, nullable=False),
    schema=PRIVATE_SCHEMA,
    comment="One item of a period: a provider rated on one dimension, on one scale.",
)

survey_answers = Table(
    "survey_answers",
    metadata,
    Column("response_key", BigInteger, primary_key=True, autoincrement=False),
    Column("item_key", Integer, primary_key=True, autoincrement=False),
    # Repeated from the response so one-period reads of the view filter answers (0008_coded).
    Column("period", String(16), nullable=False),
    Column("rating_raw", Float, nullable=False),
    Column("score", Float, nullable=False),
    Column("favourable", Boolean, nullable=False),
    schema=PRIVATE_SCHEMA,
    comment="One answer, narrow: a response's rating of an item.",
)

survey_comments = Table(
    "survey_comments",
    metadata,
    Column("period", String(16), primary_key=True),
    Column("respondent_id", String(64), primary_key=True),
    Column("provider_department", Text, primary_key=True),
    Column("consumer_department", Text, nullable=False),
    Column("comment_text", Text, nullable=False),
    *_provenance(),
    schema=PRIVATE_SCHEMA,
    comment="Free-text comments; published only for groups of at least 10 respondents.",
)

tickets = Table(
    "tickets",
    metadata,
    Column("period", String(16), primary_key=True),  # period of opened_at
    Column("ticket_id", Text, primary_key=True),
    Column("provider_department", Text, nullable=False),
    Column("consumer_department", Text),  # NULL when the requester cannot be mapped
    Column("priority", Integer),  # 1 = most urgent
    Column("opened_at", DateTime, nullable=False),
    Column("resolved_at", DateTime),
    Column("resolution_hours", Float),
    Column("sla_met", Boolean),
    Column("reopened", Boolean),
    Column("first_assignee_resolved", Boolean),
    Column("satisfaction", Float),  # 1-5 where the tool records it
    *_provenance(),
    schema=PRIVATE_SCHEMA,
    comment="One ticket at its latest state (audit logs are collapsed before this table).",
)

employees = Table(
    "employees",
    metadata,
    Column("snapshot_period", String(16), primary_key=True),  # period of the roster file
    Column("employee_id", String(64), primary_key=True),  # salted hash
    Column("department", Text, nullable=False),
    Column("hire_date", Date),
    Column("termination_date", Date),
    Column("termination_type", String(16)),  # 'voluntary' | 'involuntary' | NULL
    Column("attrited", Boolean),  # snapshot files without dates (IBM: Attrition Yes/No)
    *_provenance(),
    schema=PRIVATE_SCHEMA,
    comment="HR roster rows, one per employee per roster snapshot.",
)

quarantine = Table(
    "quarantine",
    metadata,
    Column("feed", String(32), primary_key=True),  # survey | tickets | hr | external
    Column("source_sha256", String(64), primary_key=True),
    Column("source_row", Integer, primary_key=True),
    Column("column_name", Text, primary_key=True),
    Column("source_file", Text, nullable=False),
    Column("value", Text),  # truncated to 200 characters
    Column("reason", Text, nullable=False),
    Column("run_id", Text),
    Column("quarantined_at", DateTime, nullable=False),
    schema=PRIVATE_SCHEMA,
    comment="Rows that failed validation, with the reason; good rows of the same file go on.",
)

# --------------------------------------------------------------------------------------------
# ice: aggregates (the analyst surface; views in sql/views read these)
# --------------------------------------------------------------------------------------------

external_metrics = Table(
    "external_metrics",
    metadata,
    Column("period", String(16), primary_key=True),
    Column("business_unit", Text, primary_key=True),
    Column("metric", String(16), primary_key=True),  # 'nps' (-100..100) | 'csat_pct' (0-100)
    Column("department", Text),  # from the business-unit mapping
    Column("value", Float),
    Column("n_responses", Integer),
    *_interval("value"),
    Column("source_file", Text, nullable=False),
    Column("source_sha256", String(64), nullable=False),
    schema=AGGREGATE_SCHEMA,
    comment="External customer metrics per period and business unit.",
)

ice_scores = Table(
    "ice_scores",
    metadata,
    Column("period", String(16), primary_key=True),
    Column("provider_department", Text, primary_key=True),
    Column("n_respondents", Integer, nullable=False),
    Column("suppressed", Boolean, nullable=False),
    Column("ice_p", Float),
    *_interval("ice_p"),
    Column("favourable_pct", Float),
    *_interval("favourable_pct"),
    Column("ice_k", Float),
    Column("ice", Float),
    Column("no_tickets", Boolean, nullable=False),  # ICE = ICE-P because there were no tickets
    Column("rank", Integer),  # 1 = best ICE this period; ties share a rank
    Column("ice_p_change", Float),  # change of ICE-P from the previous period
    *_interval("ice_p_change"),
    Column("change_significant", Boolean),
    schema=AGGREGATE_SCHEMA,
    comment="The index per provider department and period.",
)

company_scores = Table(
    "company_scores",
    metadata,
    Column("period", String(16), primary_key=True),
    Column("n_respondents", Integer, nullable=False),
    Column("ice_p", Float),
    *_interval("ice_p"),
    Column("ice", Float),
    Column("ice_p_change", Float),
    *_interval("ice_p_change"),
    Column("change_significant", Boolean),
    schema=AGGREGATE_SCHEMA,
    comment="Company-wide ICE per period (respondent first, over all providers rated).",
)

dimension_scores = Table(
    "dimension_scores",
    metadata,
    Column("period", String(16), primary_key=True),
    Column("provider_department", Text, primary_key=True),
    Column("dimension", Text, primary_key=True),
    Column("n_respondents", Integer, nullable=False),
    Column("suppressed", Boolean, nullable=False),
    Column("score", Float),
    *_interval("score"),
    Column("favourable_pct", Float),
    *_interval("favourable_pct"),
    schema=AGGREGATE_SCHEMA,
    comment="Each provider's score on each dimension.",
)

matrix_scores = Table(
    "matrix_scores",
    metadata,
    Column("period", String(16), primary_key=True),
    Column("provider_department", Text, primary_key=True),
    Column("consumer_department", Text, primary_key=True),
    Column("n_respondents", Integer),  # NULL when suppressed, so counts cannot be subtracted
    Column("suppressed", Boolean, nullable=False),
    Column("suppression_reason", String(32)),  # 'small_group' | 'complementary'
    Column("score", Float),
    *_interval("score"),
    Column("favourable_pct", Float),
    *_interval("favourable_pct"),
    schema=AGGREGATE_SCHEMA,
    comment="Provider x consumer department: how each consumer department rates each provider.",
)

department_groups = Table(
    "department_groups",
    metadata,
    Column("department", Text, primary_key=True),  # as the mappings name it
    Column("department_group", Text, nullable=False),  # the roll-up; the department if in none
    Column("short_name", String(32)),  # e.g. 'IT' for 'Information Technology'
    schema=AGGREGATE_SCHEMA,
    comment="Short names and roll-up groups of departments, from the departments: config section.",
)

consumer_satisfaction = Table(
    "consumer_satisfaction",
    metadata,
    Column("period", String(16), primary_key=True),
    Column("consumer_department", Text, primary_key=True),
    Column("n_respondents", Integer),
    Column("suppressed", Boolean, nullable=False),
    Column("score", Float),
    *_interval("score"),
    schema=AGGREGATE_SCHEMA,
    comment="Each department's satisfaction with the internal services it receives.",
)

service_kpis = Table(
    "service_kpis",
    metadata,
    Column("period", String(16), primary_key=True),
    Column("provider_department", Text, primary_key=True),
    Column("tickets_n", Integer, nullable=False),
    Column("sla_met_pct", Float),
    Column("reopen_pct", Float),
    Column("median_resolution_hours", Float),
    Column("first_assignee_pct", Float),
    Column("satisfaction_mean", Float),
    Column("satisfaction_n", Integer),
    Column("sla_score", Float),
    Column("reopen_score", Float),
    Column("resolution_score", Float),
    Column("first_assignee_score", Float),
    Column("satisfaction_score", Float),
    Column("ice_k", Float),
    schema=AGGREGATE_SCHEMA,
    comment="Service KPIs from tickets per provider and period, each mapped to 0-100, and ICE-K.",
)

turnover = Table(
    "turnover",
    metadata,
    Column("period", String(16), primary_key=True),
    Column("department", Text, primary_key=True),
    # Figures are NULL where withheld: a department under k, a split of fewer than k leavers, a
    # rolling window holding a withheld month (docs/methodology.md, "Disclosure control").
    Column("headcount_start", Integer),
    Column("headcount_end", Integer),
    Column("headcount_avg", Float),
    Column("leavers", Integer),
    Column("voluntary_leavers", Integer),
    Column("involuntary_leavers", Integer),
    Column("turnover_pct", Float),  # NULL where headcount is 0
    Column("voluntary_turnover_pct", Float),
    Column("involuntary_turnover_pct", Float),
    Column("rolling_12m_turnover_pct", Float),
    Column("retention_pct", Float),  # 100 - rolling 12-month turnover
    Column("suppressed", Boolean, nullable=False, server_default="false"),  # department under k
    schema=AGGREGATE_SCHEMA,
    comment="Monthly turnover per department from the HR roster.",
)

correlations = Table(
    "correlations",
    metadata,
    Column("period", String(16), primary_key=True),  # the as-of period of the analysis run
    Column("analysis", String(64), primary_key=True),  # e.g. 'consumer_satisfaction_vs_turnover'
    Column("x_metric", String(64), primary_key=True),
    Column("y_metric", String(64), primary_key=True),
    Column("lag_periods", Integer, primary_key=True),
    Column("group_key", Text, primary_key=True),  # 'all', or a business unit
    Column("n_pairs", Integer, nullable=False),
    Column("status", String(32), nullable=False),  # 'ok' | 'insufficient data'
    Column("pearson_r", Float),
    *_interval("pearson_r"),
    Column("pearson_p", Float),
    Column("spearman_rho", Float),
    Column("spearman_p", Float),
    Column("bh_q", Float),
    Column("significant", Boolean),
    schema=AGGREGATE_SCHEMA,
    comment="Associations of internal service with retention and external metrics (not causation).",
)

key_drivers = Table(
    "key_drivers",
    metadata,
    Column("period", String(16), primary_key=True),
    Column("provider_department", Text, primary_key=True),  # '(company)' for company-wide rows
    Column("dimension", Text, primary_key=True),  # a driver; the outcome is not its own driver
    # A suppressed row (below the minimum) holds only its keys: no outcome, count or numbers.
    Column("outcome", Text),  # the outcome dimension, or 'mean of dimensions'
    Column("outcome_source", String(32)),  # 'item' | 'mean of dimensions'
    Column("n_respondents", Integer),  # complete respondents of the group
    Column("suppressed", Boolean, nullable=False),
    Column("r_squared", Float),
    Column("importance_pct", Float),  # Shapley share of R-squared, % of R-squared
    *_interval("importance_pct"),  # percentile bootstrap
    schema=AGGREGATE_SCHEMA,
    comment="Key drivers: each dimension's share of the explained overall satisfaction.",
)

# ice_ops and the publication versions are declared in schema_ops. Imported here, where they
# were once declared, so that the metadata's table order is unchanged; re-exported as schema.X.
from ice_pipeline.warehouse import schema_ops  # noqa: E402

source_files = schema_ops.source_files
report_archive = schema_ops.report_archive
delivery_ledger = schema_ops.delivery_ledger
run_log = schema_ops.run_log
published_figures = schema_ops.published_figures
publication_log = schema_ops.publication_log
published_respondents = schema_ops.published_respondents

# Tables holding one row per person; analysts never get a grant on these.
RESPONDENT_LEVEL_TABLES = (
    survey_ratings,
    survey_responses,
    survey_answers,
    survey_comments,
    tickets,
    employees,
    quarantine,
    published_respondents,
)

# Row-level feeds written only as whole partitions by writes.replace_partition. Their primary key
# above documents the grain and is checked by the writer before every write, but the migration
# does not build a unique index for it: maintaining one made replacing a 2.5M-row survey wave
# about 10x slower on both engines (measured: DuckDB 14 s vs 0.33 s, PostgreSQL 13.4 s vs 2.7 s).
# PostgreSQL gets a BRIN index on the partition column instead; DuckDB's zone maps need none.
# survey_answers is replaced with its period's survey_responses (it has no period column).
BULK_FEED_TABLES = (survey_answers, survey_comments, tickets, employees)


def is_view(table: Table) -> bool:
    """Whether ``table`` is a view in the warehouse (read it; writes go to its coded tables)."""
    return bool(table.info.get("view"))
