"""The schema of record, continued: operational state and the versions of publications.

Belongs here: the ``ice_ops`` tables (source-file ledger, report archive, delivery ledger, run
log) and the publication-version tables of issue 11. ``schema`` imports every table from here at
the point they were once declared, so ``from ice_pipeline.warehouse import schema; schema.X`` is
the way to reach them and the metadata keeps its table order; the conventions in ``schema``'s
docstring hold here too.
"""

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Integer,
    String,
    Table,
    Text,
)

from ice_pipeline.warehouse.schema_core import OPS_SCHEMA, PRIVATE_SCHEMA, metadata

# --------------------------------------------------------------------------------------------
# ice_ops: operational state
# --------------------------------------------------------------------------------------------

source_files = Table(
    "source_files",
    metadata,
    Column("feed", String(32), primary_key=True),
    Column("source_sha256", String(64), primary_key=True),
    Column("source_file", Text, nullable=False),
    Column("file_format", String(32), nullable=False),
    Column("encoding", String(32), nullable=False),
    Column("periods", Text),  # comma-separated partition keys the file contributed to
    Column("rows_read", Integer, nullable=False),
    Column("rows_kept", Integer, nullable=False),
    Column("rows_quarantined", Integer, nullable=False),
    Column("ingested_at", DateTime, nullable=False),
    # rows_read = rows_kept + rows_quarantined + rows_excluded (migration 0002_ingeststrict).
    Column("rows_excluded", Integer, nullable=False),
    Column("status", String(16), nullable=False),  # 'ok' | 'failed' (the file could not be used)
    Column("problem", Text),  # a failed file's one-line reason
    schema=OPS_SCHEMA,
    comment="The raw layer: every export file read, by content hash, with its row accounting.",
)

report_archive = Table(
    "report_archive",
    metadata,
    Column("period", String(16), primary_key=True),
    Column("kind", String(64), primary_key=True),  # 'executive_summary' | 'provider:<dept>' | ...
    Column("audience", String(64), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("html", Text, nullable=False),
    Column("content_sha256", String(64), nullable=False),
    Column("input_fingerprints", Text, nullable=False),  # JSON: table -> sha256 of its rows
    Column("generated_at", DateTime, nullable=False),
    Column("run_id", Text),
    Column("file_path", Text),
    # The executive summary printed to PDF (archived and attached to its e-mail), base64: text
    # reads the same through every engine's bulk path (writes.read_frame); NULL for other kinds.
    Column("pdf_base64", Text),
    schema=OPS_SCHEMA,
    comment="Every rendered report version; same inputs give the same bytes and no new version.",
)

delivery_ledger = Table(
    "delivery_ledger",
    metadata,
    Column("period", String(16), primary_key=True),
    Column("kind", String(64), primary_key=True),
    Column("audience", String(64), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("recipient", Text, primary_key=True),
    # pending|sent|outbox|retrying|failed_permanent|uncertain|abandoned (reports/ledger.py)
    Column("status", String(32), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("last_error", Text),
    Column("message_id", Text),
    Column("updated_at", DateTime, nullable=False),
    Column("claimed_by", Text),  # host:pid:token of the delivery that claimed the row last
    Column("claimed_at", DateTime),
    Column("target", Text),  # where it was handed: the outbox .eml path, or smtp://host:port
    Column("resolution", Text),  # an operator's `ice-pipeline delivery resolve`, with its note
    schema=OPS_SCHEMA,
    comment="One row per (report version, recipient): guarantees a report is sent at most once.",
)

run_log = Table(
    "run_log",
    metadata,
    Column("run_id", Text, primary_key=True),
    Column("step", Text, primary_key=True),
    Column("partition_key", String(16), primary_key=True),  # '' for unpartitioned steps
    Column("status", String(16), nullable=False),
    Column("rows_written", Integer),
    Column("message", Text),
    Column("started_at", DateTime),
    Column("finished_at", DateTime),
    # Added by migration 0002_ops: what the write was computed from, and its checks' outcome.
    Column("inputs_fingerprint", Text),
    Column("checks_passed", Integer),
    Column("checks_failed", Integer),
    Column("failed_checks", Text),
    schema=OPS_SCHEMA,
    comment="What each run wrote, per step and partition.",
)

# --------------------------------------------------------------------------------------------
# Versions of a period's publication (issue 11): what was published, so a re-run cannot publish
# figures that subtract from earlier ones to a group under k (ice_pipeline/index/versions.py)
# --------------------------------------------------------------------------------------------

published_figures = Table(
    "published_figures",
    metadata,
    Column("period", String(16), primary_key=True),
    Column("version", Integer, primary_key=True),  # the period's publication version, from 1
    Column("table_name", String(64), primary_key=True),  # ice_scores, matrix_scores, ...
    Column("row_key", Text, primary_key=True),  # JSON list of the row's key values
    Column("n_respondents", Integer),  # as published (NULL where the table hides it)
    Column("suppressed", Boolean, nullable=False),
    Column("row_json", Text, nullable=False),  # the whole published row, JSON
    schema=OPS_SCHEMA,
    comment="Every version of every period's published score rows, kept for the next run's "
    "comparison and for the auditor.",
)

publication_log = Table(
    "publication_log",
    metadata,
    Column("period", String(16), primary_key=True),
    Column("run_id", Text),  # the run that decided it
    Column("updated_at", DateTime, nullable=False),
    # first | unchanged | republished | held | kept_published (ice_pipeline.index.versions)
    Column("decision", String(16), nullable=False),
    Column("version", Integer, nullable=False),  # the version now published
    Column("policy", String(32), nullable=False),  # index.late_responses
    Column("respondents_published", Integer, nullable=False),  # respondents the figures rest on
    Column("late_respondents", Integer, nullable=False),  # answered after publication
    Column("late_ratings", Integer, nullable=False),
    Column("held_respondents", Integer, nullable=False),  # answers excluded from the figures
    Column("changed_respondents", Integer, nullable=False),  # answers differ from published
    Column("withdrawn_respondents", Integer, nullable=False),  # published, absent now
    Column("findings", Text),  # why a re-publication was refused, one per line
    schema=OPS_SCHEMA,
    comment="Per period, the latest run's decision: the version published and the responses held.",
)

published_respondents = Table(
    "published_respondents",
    metadata,
    Column("period", String(16), primary_key=True),
    Column("respondent_id", String(64), primary_key=True),  # salted hash, as in survey_ratings
    Column("answers_hash", String(16), nullable=False),  # of the answers as published
    Column("version", Integer, nullable=False),
    schema=PRIVATE_SCHEMA,
    comment="The respondents the period's published version rests on (one row per person).",
)
