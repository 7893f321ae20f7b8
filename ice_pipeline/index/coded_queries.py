"""The index's period queries on the coded survey tables: integer keys instead of the view.

What belongs here: the SQL that :mod:`.moments` and :mod:`.warehouse_ratings` run when the
warehouse (or the period's compute copy) holds the coded tables (``survey_answers``,
``survey_responses``, ``survey_items``: migration ``0009_coded``, docs/warehouse.md), and the
check that they are there. Reading the ``survey_ratings`` view joins the text of every response
and item back onto each of the period's millions of answers, and the queries then group by that
text; here the answers are joined only to integer keys numbered in the small response and item
tables (``dense_rank``), grouped by those, and the names are joined back onto the few hundred
result rows. Same results: a respondent's consumer department is still the alphabetically last
(the greatest rank in the engine's own order is the greatest name), and the hash query sums the
very same terms (:func:`.answer_hashes.answer_hash_terms`), found per item, response and score.

Where the coded tables are absent (a warehouse whose ``survey_ratings`` is a plain table, as some
test fixtures build) the callers keep their queries on ``survey_ratings``.
"""

import sqlalchemy

from ice_pipeline.warehouse import schema

# The respondent filter (.moments.respondent_filter) applies to survey_responses, which has the
# respondent_id column it names. Ranks number respondents, consumer departments, providers and
# (provider, dimension) cells of the period; the view's columns and types come back at the end.
# MATERIALIZED: the joined answers feed two groupings (DuckDB would otherwise join them twice;
# PostgreSQL materializes a twice-used CTE anyway).
MOMENTS_SQL = """
WITH responses AS (
    SELECT response_key, consumer_department,
           dense_rank() OVER (ORDER BY respondent_id) AS respondent,
           dense_rank() OVER (ORDER BY consumer_department) AS consumer
    FROM {responses} WHERE period = :period{respondents}
), items AS (
    SELECT item_key, provider_department, dimension,
           dense_rank() OVER (ORDER BY provider_department) AS provider,
           dense_rank() OVER (ORDER BY provider_department, dimension) AS cell
    FROM {items} WHERE period = :period
), ratings AS MATERIALIZED (
    SELECT r.respondent, r.consumer, i.provider, i.cell, a.score,
           CAST(CASE WHEN a.favourable THEN 1 ELSE 0 END AS DOUBLE PRECISION) AS favourable
    FROM {answers} a
    JOIN responses r ON r.response_key = a.response_key
    JOIN items i ON i.item_key = a.item_key
    WHERE a.period = :period
), pairs AS (
    SELECT respondent, provider, avg(score) AS score, avg(favourable) AS favourable,
           max(consumer) AS consumer
    FROM ratings GROUP BY respondent, provider
), respondents AS (
    SELECT respondent, max(consumer) AS consumer, avg(score) AS score,
           count(*) AS providers_rated
    FROM pairs GROUP BY respondent
), provider_names AS (
    SELECT DISTINCT provider, provider_department FROM items
), cell_names AS (
    SELECT DISTINCT cell, provider_department, dimension FROM items
), consumer_names AS (
    SELECT DISTINCT consumer, consumer_department FROM responses
)
SELECT 'provider' AS grain, k.provider_department, CAST(NULL AS TEXT) AS dimension,
       CAST(NULL AS TEXT) AS consumer_department, g.n, g.total, g.m2, g.favourable,
       CAST(NULL AS BIGINT) AS fewest_rated, CAST(NULL AS BIGINT) AS most_rated
FROM (SELECT provider, count(*) AS n, sum(score) AS total,
             var_samp(score) * (count(*) - 1) AS m2, sum(favourable) AS favourable
      FROM pairs GROUP BY provider) g
JOIN provider_names k ON k.provider = g.provider
UNION ALL
SELECT 'dimension', k.provider_department, k.dimension, NULL,
       g.n, g.total, g.m2, g.favourable, NULL, NULL
FROM (SELECT cell, count(*) AS n, sum(score) AS total,
             var_samp(score) * (count(*) - 1) AS m2, sum(favourable) AS favourable
      FROM ratings GROUP BY cell) g
JOIN cell_names k ON k.cell = g.cell
UNION ALL
SELECT 'cell', p.provider_department, NULL, c.consumer_department,
       g.n, g.total, g.m2, g.favourable, NULL, NULL
FROM (SELECT p.provider, r.consumer, count(*) AS n, sum(p.score) AS total,
             var_samp(p.score) * (count(*) - 1) AS m2, sum(p.favourable) AS favourable
      FROM pairs p JOIN respondents r ON r.respondent = p.respondent
      GROUP BY p.provider, r.consumer) g
JOIN provider_names p ON p.provider = g.provider
JOIN consumer_names c ON c.consumer = g.consumer
UNION ALL
SELECT 'consumer', NULL, NULL, c.consumer_department,
       g.n, g.total, g.m2, NULL, g.fewest_rated, g.most_rated
FROM (SELECT consumer, count(*) AS n, sum(score) AS total,
             var_samp(score) * (count(*) - 1) AS m2,
             min(providers_rated) AS fewest_rated, max(providers_rated) AS most_rated
      FROM respondents GROUP BY consumer) g
JOIN consumer_names c ON c.consumer = g.consumer
UNION ALL
SELECT 'company', NULL, NULL, NULL,
       count(*), sum(score), var_samp(score) * (count(*) - 1), NULL, NULL, NULL
FROM respondents HAVING count(*) > 0
"""

# The distinct values whose hash terms the respondent query looks up: all small reads but the
# scores (one column of the answers).
VALUES_SQL = {
    "provider_department": (
        "SELECT DISTINCT provider_department FROM {items} WHERE period = :period"
    ),
    "dimension": "SELECT DISTINCT dimension FROM {items} WHERE period = :period",
    "consumer_department": (
        "SELECT DISTINCT consumer_department FROM {responses} WHERE period = :period"
    ),
    "score": "SELECT DISTINCT score FROM {answers} WHERE period = :period",
}

# Per respondent, the count and 32-bit-half sums of their rows' hash terms (see
# .warehouse_ratings._RESPONDENTS_SQL): an item's terms (provider, dimension) are looked up once
# per item, a response's (consumer) once per response, only the score's once per answer. The
# answers are summed per response (integer key), then per respondent on the response rows. A
# count is of rows whose every lookup was found, as in the view's query. The sums fit BIGINT
# (a respondent's < 2**40); cast, DuckDB's HUGEINT sums are slower to fetch (~0.08 s CPU/100k).
RESPONDENTS_SQL = """
WITH responses AS (
    SELECT response_key, respondent_id, {consumer_low} AS low, {consumer_high} AS high
    FROM {responses} WHERE period = :period{respondents}
), items AS (
    SELECT item_key, {item_low} AS low, {item_high} AS high
    FROM {items} WHERE period = :period
), sums AS (
    SELECT a.response_key, count(i.low + {score_low}) AS ratings,
           sum(i.low + {score_low}) AS low, sum(i.high + {score_high}) AS high
    FROM {answers} a
    JOIN items i ON i.item_key = a.item_key
    WHERE a.period = :period AND a.response_key IN (SELECT response_key FROM responses)
    GROUP BY a.response_key
)
SELECT r.respondent_id,
       CAST(sum(CASE WHEN r.low IS NOT NULL THEN s.ratings ELSE 0 END) AS BIGINT),
       CAST(sum(s.low + s.ratings * r.low) AS BIGINT),
       CAST(sum(s.high + s.ratings * r.high) AS BIGINT)
FROM sums s JOIN responses r ON r.response_key = s.response_key
GROUP BY r.respondent_id
"""

RESPONDENT_IDS_SQL = "SELECT DISTINCT respondent_id FROM {responses} WHERE period = :period"


def _name(connection: sqlalchemy.Connection, table: sqlalchemy.Table) -> str:
    if connection.dialect.name == "duckdb":
        # duckdb_engine has no "schema.table" quoting of its own; the name is ours, not input.
        return f"{table.schema}.{table.name}"
    preparer = connection.dialect.identifier_preparer
    return f"{preparer.quote_schema(str(table.schema))}.{preparer.quote(table.name)}"


def coded_tables(connection: sqlalchemy.Connection) -> dict[str, str] | None:
    """The coded tables' qualified names by role (``answers``, ``responses``, ``items``), or
    None when the connection's warehouse has no ``survey_answers`` table (a plain-table
    ``survey_ratings``: the callers then read that).
    """
    found = connection.execute(
        sqlalchemy.text(
            "SELECT count(*) FROM information_schema.tables "
            "WHERE table_schema = :schema AND table_name = :name"
        ),
        {"schema": schema.survey_answers.schema, "name": schema.survey_answers.name},
    ).scalar_one()
    if not found:
        return None
    return {
        "answers": _name(connection, schema.survey_answers),
        "responses": _name(connection, schema.survey_responses),
        "items": _name(connection, schema.survey_items),
    }
