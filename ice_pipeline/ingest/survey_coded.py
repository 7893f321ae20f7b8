"""A staged survey parse stored coded in the parse cache: answers narrow, responses and items apart.

Belongs here: the cache's coded layout of a wide export's ratings staged in DuckDB
(``survey_sql.build_ratings``: tables ``kept``, ``recs``, ``items``, ``answers``, ``source``),
written per period by COPY, and the one SQL (``wide_sql``) and function (``read_wide``) that
give back today's long ``survey_ratings`` rows from it, for every reader that needs them (the
frame path of ``survey_tables``, corrections, the ledger, tests). ``survey_period_coded.py``
reads the coded files directly for the streamed ``survey_tables`` path.

Why: written long, the 15 text columns of 2.9M answers cost ~3 s to write and ~6 s to read back
and code again (issue 13). Coded, an answer is three integers; the text is stored once per
response (export row) or item (rating column). Layout of ``survey_ratings/<period>/``::

    answers.parquet    rec, item, code             one row per kept answer
    responses.parquet  rec + the per-response columns (only records with a kept answer)
    items.parquet      item + provider_department, dimension, scale_min, scale_max, reversed
    values.parquet     item, code + rating_raw, score, favourable (the pairs answers use)
"""

from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

LAYOUT = "coded"
FILES = ("answers", "responses", "items", "values")
RESPONSE_FIELDS = (
    "period",
    "respondent_id",
    "consumer_department",
    "responded_at",
    "source_file",
    "source_sha256",
    "source_row",
)
ITEM_FIELDS = ("provider_department", "dimension", "scale_min", "scale_max", "reversed")
VALUE_FIELDS = ("rating_raw", "score", "favourable")
# survey_ratings' columns in their order, each with the coded file (alias) it comes from.
WIDE_COLUMNS = (
    ("period", "r"),
    ("respondent_id", "r"),
    ("provider_department", "i"),
    ("dimension", "i"),
    ("consumer_department", "r"),
    ("rating_raw", "v"),
    ("scale_min", "i"),
    ("scale_max", "i"),
    ("reversed", "i"),
    ("score", "v"),
    ("favourable", "v"),
    ("responded_at", "r"),
    ("source_file", "r"),
    ("source_sha256", "r"),
    ("source_row", "r"),
)
ITEM_BITS = 16  # ord within a file = rec * 2**16 + item (items are SMALLINT): (record, column)


def _path(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def can_write(table: object) -> bool:
    """Whether ``table`` is survey_sql's staged ratings view (the tables this module reads)."""
    return getattr(table, "relation", None) == "ratings" and getattr(table, "base", None) == "kept"


def write_coded(con: duckdb.DuckDBPyConnection, folder: Path, period: str) -> None:
    """COPY the period's answers, responses, items and values of the staging ``con`` to ``folder``.

    Order in the files does not matter: readers order by (rec, item), the order of ``_ord``.
    """
    folder.mkdir(parents=True)
    of_period = "rec IN (SELECT rec FROM recs WHERE period = $period)"
    queries = {
        "answers": f"SELECT rec, item, code FROM kept WHERE {of_period}",
        "responses": "SELECT r.rec, r.period, r.respondent_id, r.consumer_department, "
        "r.responded_at, s.source_file, s.source_sha256, r.source_row FROM recs r "
        "CROSS JOIN source s WHERE r.period = $period AND r.rec IN (SELECT rec FROM kept)",
        "items": "SELECT item, provider AS provider_department, dimension, scale_min, scale_max, "
        "reversed FROM items",
        # Only the (item, answer) pairs kept answers use: a free-text column stays small.
        "values": "SELECT i.item, a.code, a.value AS rating_raw, "
        "CASE WHEN i.reversed THEN a.score_r ELSE a.score END AS score, "
        "CASE WHEN i.reversed THEN a.fav_r ELSE a.fav END AS favourable "
        f"FROM (SELECT DISTINCT item, code FROM kept WHERE {of_period}) u "
        "JOIN items i ON i.item = u.item JOIN answers a ON a.scale = i.scale AND a.code = u.code",
    }
    for name, query in queries.items():
        params = {"period": period} if "$period" in query else {}
        con.execute(
            f"COPY ({query}) TO {_path(folder / f'{name}.parquet')} (FORMAT parquet)", params
        )


def put_staged(staging: Path, name: str, table: Any) -> dict[str, Any]:
    """A table staged in DuckDB (survey_stage.py) in the cache folder ``staging``, per period by
    COPY: survey ratings coded (``write_coded``), any other table long. Its meta entry.

    The long survey table is never a pandas frame on this path (memory, issue 13 item 7).
    """
    (staging / name).mkdir()
    periods = table.distinct("period")
    coded = can_write(table)
    for period in periods:
        if coded:
            write_coded(table.con, staging / name / period, period)
        else:
            table.write_parquet(staging / name / f"{period}.parquet", period)
    info = {"split": True, "periods": periods, "rows": len(table)}
    return {**info, "layout": LAYOUT} if coded else info


def wide_sql(folder: Path, ord_base: int = 0) -> str:
    """A SELECT of survey_ratings' columns and ``ord`` (ord_base + the row's (record, column)).

    The joins are on the small responses, items and values files; unordered (add ORDER BY ord).
    """
    columns = ", ".join(f"{alias}.{name}" for name, alias in WIDE_COLUMNS)
    files = {name: f"read_parquet({_path(folder / f'{name}.parquet')})" for name in FILES}
    return (
        f"SELECT {columns}, {ord_base} + CAST(a.rec AS BIGINT) * {1 << ITEM_BITS} + a.item AS ord "  # noqa: S608
        f"FROM {files['answers']} a JOIN {files['responses']} r USING (rec) "
        f"JOIN {files['items']} i USING (item) JOIN {files['values']} v USING (item, code)"
    )


def read_wide(folder: Path) -> pd.DataFrame:
    """The long ratings rows of a coded period, as the long cache file was read (cache.py):
    in (record, column) order, text columns as categoricals.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    con = duckdb.connect()
    try:
        table = con.execute(
            f"SELECT * EXCLUDE (ord) FROM ({wide_sql(folder)}) ORDER BY ord"
        ).arrow()
    finally:
        con.close()
    if isinstance(table, pa.RecordBatchReader):  # newer DuckDB returns a reader
        table = table.read_all()
    for position, field in enumerate(table.schema):
        if pa.types.is_string(field.type) or pa.types.is_large_string(field.type):
            table = table.set_column(
                position, field.name, pc.dictionary_encode(table.column(position))
            )
    return table.to_pandas()


def source_rows(folder: Path) -> "pd.Series":
    """The source rows of a coded period's responses (the ledger's records of the period)."""
    import pyarrow.parquet as pq

    return pq.read_table(folder / "responses.parquet", columns=["source_row"]).to_pandas()[
        "source_row"
    ]
