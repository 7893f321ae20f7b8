"""The coded long table: survey answers with integer keys; survey_ratings becomes a view.

Storing the 15-column ``ice_private.survey_ratings`` cost ~7.5 s per 2.4M-row period, ~0.6-0.75 s
of CPU per text column even when a column repeats one value. The answers are now stored narrow
(``survey_answers``: response_key, item_key, rating_raw, score, favourable), the text each answer
repeated once per response (``survey_responses``) and once per item (``survey_items``). The view
``ice_private.survey_ratings`` joins them back into exactly the old 15 columns and types, so
analysts, tests and readers change nothing; ``warehouse.writes.replace_partition`` writes the
coded tables when given ``schema.survey_ratings`` (``warehouse/writes_surveys.py``).

Existing rows are moved: a response per distinct (period, respondent, consumer department,
responded_at, source file/hash/row), an item per distinct (period, provider, dimension, scale,
reversed), keys numbered in period order so each period's keys are one contiguous range. The
downgrade restores the table (and its BRIN index on PostgreSQL) from the view.

Revision ID: 0008_coded
Revises: 0008_report_pdf
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_coded"
down_revision = "0008_report_pdf"
branch_labels = None
depends_on = None

SCHEMA = "ice_private"
RESPONSE_COLUMNS = (
    "period, respondent_id, consumer_department, responded_at, source_file, source_sha256, "
    "source_row"
)
ITEM_COLUMNS = "period, provider_department, dimension, scale_min, scale_max, reversed"
# The old table's columns, in its order: the view must give back exactly these.
RATING_COLUMNS = (
    "period, respondent_id, provider_department, dimension, consumer_department, rating_raw, "
    "scale_min, scale_max, reversed, score, favourable, responded_at, source_file, "
    "source_sha256, source_row"
)
VIEW_SQL = """
CREATE VIEW ice_private.survey_ratings AS
SELECT a.period, r.respondent_id, i.provider_department, i.dimension, r.consumer_department,
       a.rating_raw, i.scale_min, i.scale_max, i.reversed, a.score, a.favourable,
       r.responded_at, r.source_file, r.source_sha256, r.source_row
FROM ice_private.survey_answers a
JOIN ice_private.survey_responses r ON r.response_key = a.response_key AND r.period = a.period
JOIN ice_private.survey_items i ON i.item_key = a.item_key AND i.period = a.period
"""
# Joining on responded_at, which may be NULL, through a sentinel keeps the join hashable on
# PostgreSQL (IS NOT DISTINCT FROM is not); no survey answer is dated in year 1.
_NO_TIME = "TIMESTAMP '0001-01-01'"


def _postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def _create_coded_tables() -> None:
    op.create_table(
        "survey_responses",
        sa.Column("response_key", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("period", sa.String(16), nullable=False),
        sa.Column("respondent_id", sa.String(64), nullable=False),
        sa.Column("consumer_department", sa.Text(), nullable=False),
        sa.Column("responded_at", sa.DateTime(), nullable=True),
        sa.Column("source_file", sa.Text(), nullable=False),
        sa.Column("source_sha256", sa.String(64), nullable=False),
        sa.Column("source_row", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("response_key", name="pk_survey_responses"),
        schema=SCHEMA,
        comment="One response: what every answer of one respondent in one export row shares.",
    )
    op.create_table(
        "survey_items",
        sa.Column("item_key", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("period", sa.String(16), nullable=False),
        sa.Column("provider_department", sa.Text(), nullable=False),
        sa.Column("dimension", sa.Text(), nullable=False),
        sa.Column("scale_min", sa.Double(), nullable=False),
        sa.Column("scale_max", sa.Double(), nullable=False),
        sa.Column("reversed", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("item_key", name="pk_survey_items"),
        schema=SCHEMA,
        comment="One item of a period: a provider rated on one dimension, on one scale.",
    )
    op.create_table(
        "survey_answers",
        sa.Column("response_key", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("item_key", sa.Integer(), autoincrement=False, nullable=False),
        # The period again, so that a one-period read of the view filters the answers directly:
        # the view's joins carry it over to responses and items (PostgreSQL derives r.period = X
        # and i.period = X from a.period = X), instead of scanning every period's answers.
        sa.Column("period", sa.String(16), nullable=False),
        sa.Column("rating_raw", sa.Double(), nullable=False),
        sa.Column("score", sa.Double(), nullable=False),
        sa.Column("favourable", sa.Boolean(), nullable=False),
        # key (response_key, item_key) is checked by writes.replace_partition (no unique index,
        # like the other bulk feeds: see schema.BULK_FEED_TABLES)
        schema=SCHEMA,
        comment="One answer, narrow: a response's rating of an item.",
    )


def _move_rows_to_coded_tables() -> None:
    op.execute(
        f"INSERT INTO ice_private.survey_items (item_key, {ITEM_COLUMNS}) "
        f"SELECT row_number() OVER (ORDER BY {ITEM_COLUMNS}), {ITEM_COLUMNS} "
        f"FROM (SELECT DISTINCT {ITEM_COLUMNS} FROM ice_private.survey_ratings) d"
    )
    op.execute(
        f"INSERT INTO ice_private.survey_responses (response_key, {RESPONSE_COLUMNS}) "
        f"SELECT row_number() OVER (ORDER BY {RESPONSE_COLUMNS}), {RESPONSE_COLUMNS} "
        f"FROM (SELECT DISTINCT {RESPONSE_COLUMNS} FROM ice_private.survey_ratings) d"
    )
    same_response = " AND ".join(
        [
            f"r.{name} = s.{name}"
            for name in RESPONSE_COLUMNS.replace(" ", "").split(",")
            if name != "responded_at"
        ]
        + [f"coalesce(r.responded_at, {_NO_TIME}) = coalesce(s.responded_at, {_NO_TIME})"]
    )
    same_item = " AND ".join(
        f"i.{name} = s.{name}" for name in ITEM_COLUMNS.replace(" ", "").split(",")
    )
    op.execute(
        "INSERT INTO ice_private.survey_answers "
        "(response_key, item_key, period, rating_raw, score, favourable) "
        "SELECT r.response_key, i.item_key, s.period, s.rating_raw, s.score, s.favourable "
        "FROM ice_private.survey_ratings s "
        f"JOIN ice_private.survey_responses r ON {same_response} "
        f"JOIN ice_private.survey_items i ON {same_item}"
    )


def upgrade() -> None:
    _create_coded_tables()
    _move_rows_to_coded_tables()
    op.drop_table("survey_ratings", schema=SCHEMA)  # its BRIN index goes with it
    op.execute(VIEW_SQL)
    if _postgres():
        # Built after the load. BRIN: a period's rows are written in one block range, and a
        # BRIN index costs almost nothing to maintain (see 0001_initial._partition_index).
        op.create_index(
            "ix_survey_responses_period",
            "survey_responses",
            ["period"],
            schema=SCHEMA,
            postgresql_using="brin",
        )
        op.create_index(
            "ix_survey_answers_response_key",
            "survey_answers",
            ["response_key"],
            schema=SCHEMA,
            postgresql_using="brin",
        )
        op.create_index(
            "ix_survey_answers_period",
            "survey_answers",
            ["period"],
            schema=SCHEMA,
            postgresql_using="brin",
        )


def downgrade() -> None:
    op.execute(
        "CREATE TEMPORARY TABLE survey_ratings_restore AS "
        f"SELECT {RATING_COLUMNS} FROM ice_private.survey_ratings"
    )
    op.execute("DROP VIEW ice_private.survey_ratings")
    for name in ("survey_answers", "survey_responses", "survey_items"):
        op.drop_table(name, schema=SCHEMA)
    op.create_table(
        "survey_ratings",
        sa.Column("period", sa.String(16), nullable=False),
        sa.Column("respondent_id", sa.String(64), nullable=False),
        sa.Column("provider_department", sa.Text(), nullable=False),
        sa.Column("dimension", sa.Text(), nullable=False),
        sa.Column("consumer_department", sa.Text(), nullable=False),
        sa.Column("rating_raw", sa.Double(), nullable=False),
        sa.Column("scale_min", sa.Double(), nullable=False),
        sa.Column("scale_max", sa.Double(), nullable=False),
        sa.Column("reversed", sa.Boolean(), nullable=False),
        sa.Column("score", sa.Double(), nullable=False),
        sa.Column("favourable", sa.Boolean(), nullable=False),
        sa.Column("responded_at", sa.DateTime(), nullable=True),
        sa.Column("source_file", sa.Text(), nullable=False),
        sa.Column("source_sha256", sa.String(64), nullable=False),
        sa.Column("source_row", sa.Integer(), nullable=False),
        schema=SCHEMA,
        comment="One rating: a respondent of a consumer department rating a provider on one "
        "dimension.",
    )
    op.execute(
        f"INSERT INTO ice_private.survey_ratings ({RATING_COLUMNS}) "
        f"SELECT {RATING_COLUMNS} FROM survey_ratings_restore"
    )
    op.execute("DROP TABLE survey_ratings_restore")
    if _postgres():
        op.create_index(
            "ix_survey_ratings_period",
            "survey_ratings",
            ["period"],
            schema=SCHEMA,
            postgresql_using="brin",
        )
