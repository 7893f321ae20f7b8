"""One period's survey ratings gathered from coded cached parses, kept coded (issue 13).

Belongs here: what ``survey_period_sql.py`` does over long cached rows (the corrections rule,
the per-key net, the canonical names, the writer's checks, the coding of responses and items in
order of first appearance), done over the coded files of ``survey_coded.py``: the rule and the
names run on the per-response and per-item tables, and the long table is only integer keys and
the three numbers of each answer. The tables it leaves (``ice_responses``, ``ice_items``,
``ice_answers``, ``ice_respondent_files``) are those the long path leaves, so the writer
(``warehouse/writes_surveys_stream.py``) and ``kept_comments`` read them the same way.

Equivalence with the long path: a kept response has at least one kept answer and a used item at
least one, so a check counted per response or item finds a problem exactly when counted per row;
``ord`` orders rows by file, record and column as the long files' row numbers did.
"""

from collections.abc import Sequence
from pathlib import Path

import duckdb

from ice_pipeline.ingest.names import NAME_GROUPS
from ice_pipeline.ingest.survey_coded import ITEM_BITS, RESPONSE_FIELDS, VALUE_FIELDS, _path
from ice_pipeline.warehouse.bulk import _sql_cast_type
from ice_pipeline.warehouse.schema import survey_ratings

_FILE_BITS = 48  # ord = file number * 2**48 + rec * 2**16 + item
_TYPES = {c.name: _sql_cast_type(c) for c in survey_ratings.columns}
_ITEMS = ("provider_department", "dimension", "scale_min", "scale_max", "reversed")
_RENAMED = {column: group for group, columns in NAME_GROUPS.items() for column in columns}


def _cast(name: str, alias: str = "") -> str:
    return f"CAST({alias}{name} AS {_TYPES[name]}) AS {name}"


def _renamed(name: str, alias: str) -> tuple[str, str]:
    """The select item of a column (renamed by names.py's lookup when it is a name) and its join."""
    group = _RENAMED.get(name)
    if group is None:
        return f"{alias}.{name}", ""
    join = f"LEFT JOIN ice_names_{group} n_{name} ON n_{name}.spelling = {alias}.{name}"
    return f"coalesce(n_{name}.name, {alias}.{name}) AS {name}", join


def _sources(con: duckdb.DuckDBPyConnection, files: Sequence[tuple[int, Path]]) -> None:
    """Views and tables of every file's coded rows, with its number (``file_no``)."""
    responses, items, answers, keys = [], [], [], []
    for number, folder in files:
        ord_sql = (
            f"CAST({number} AS BIGINT) * {1 << _FILE_BITS} + CAST(a.rec AS BIGINT) * "
            f"{1 << ITEM_BITS} + a.item AS ord"
        )
        keys.append(
            f"SELECT {number} AS file_no, a.rec, a.item, {ord_sql} "  # noqa: S608
            f"FROM read_parquet({_path(folder / 'answers.parquet')}) a"
        )
        read = {n: f"read_parquet({_path(folder / f'{n}.parquet')})" for n in ("responses",)}
        responses.append(
            f"SELECT {number} AS file_no, rec, {', '.join(_cast(c) for c in RESPONSE_FIELDS)} "  # noqa: S608
            f"FROM {read['responses']}"
        )
        items.append(
            f"SELECT {number} AS file_no, item, {', '.join(_cast(c) for c in _ITEMS)} "  # noqa: S608
            f"FROM read_parquet({_path(folder / 'items.parquet')})"
        )
        answers.append(
            f"SELECT {number} AS file_no, a.rec, a.item, {ord_sql}, "  # noqa: S608
            f"{', '.join(_cast(c, 'v.') for c in VALUE_FIELDS)} "
            f"FROM read_parquet({_path(folder / 'answers.parquet')}) a "
            f"JOIN read_parquet({_path(folder / 'values.parquet')}) v USING (item, code)"
        )
    con.execute(f"CREATE TABLE ice_src_responses AS {' UNION ALL '.join(responses)}")
    con.execute(f"CREATE TABLE ice_src_items AS {' UNION ALL '.join(items)}")
    con.execute(f"CREATE VIEW ice_src_answers AS {' UNION ALL '.join(answers)}")
    con.execute(f"CREATE VIEW ice_src_keys AS {' UNION ALL '.join(keys)}")  # without the values


def gather_coded(con: duckdb.DuckDBPyConnection, files: Sequence[tuple[int, Path]]) -> tuple:
    """The period's kept answers (``ice_kept_answers``) and its responses and items, renamed.

    Returns (rows, kept files, duplicates dropped, responses replaced, ratings replaced).
    """
    _sources(con, files)
    # A later file replaces every answer of its respondents in the earlier files (corrections.py).
    con.execute(
        "CREATE TABLE ice_rec_counts AS SELECT file_no, rec, count(*) AS n, min(ord) AS first "
        "FROM ice_src_keys GROUP BY ALL"
    )
    con.execute(
        "CREATE TABLE ice_respondent_files AS SELECT respondent_id, file_no, n, "
        "respondent_id IS NULL OR file_no = max(file_no) OVER (PARTITION BY respondent_id) AS kept "
        "FROM (SELECT r.respondent_id, r.file_no, sum(c.n) AS n FROM ice_rec_counts c "
        "JOIN ice_src_responses r USING (file_no, rec) GROUP BY ALL)"
    )
    replaced, replaced_rows, kept_rows, kept_files = con.execute(
        "SELECT count(*) FILTER (NOT kept), coalesce(sum(n) FILTER (NOT kept), 0), "
        "coalesce(sum(n) FILTER (kept), 0), count(DISTINCT file_no) FILTER (kept) "
        "FROM ice_respondent_files"
    ).fetchone()
    con.execute(
        "CREATE TABLE ice_kept_recs AS SELECT r.file_no, r.rec FROM ice_src_responses r "
        "LEFT JOIN ice_respondent_files f ON f.respondent_id = r.respondent_id "
        "AND f.file_no = r.file_no WHERE r.respondent_id IS NULL OR f.kept"
    )
    kept = "SELECT a.* FROM ice_src_answers a"
    if replaced:  # (the usual single export replaces nothing: no join over its answers)
        kept += " SEMI JOIN ice_kept_recs k USING (file_no, rec)"
    if kept_files > 1:  # as corrections._combine: the later row of a repeated key wins
        kept = (
            f"SELECT a.* EXCLUDE (period, respondent_id, provider_department, dimension) FROM ("  # noqa: S608
            "SELECT a.*, r.period, r.respondent_id, i.provider_department, i.dimension "
            f"FROM ({kept}) a JOIN ice_src_responses r USING (file_no, rec) "
            "JOIN ice_src_items i USING (file_no, item)) a QUALIFY row_number() OVER ("
            "PARTITION BY period, respondent_id, provider_department, dimension "
            "ORDER BY ord DESC) = 1"
        )
    con.execute(f"CREATE TABLE ice_kept_answers AS {kept}")
    (rows,) = con.execute("SELECT count(*) FROM ice_kept_answers").fetchone()
    _renamed_parts(con, kept_files <= 1)
    return int(rows), int(kept_files), int(kept_rows) - int(rows), int(replaced), int(replaced_rows)


def _renamed_parts(con: duckdb.DuckDBPyConnection, whole_responses: bool) -> None:
    """The kept responses and used items with their first ``ord``, names applied.

    ``whole_responses``: no answer of a kept response was dropped (no repeated key across
    files), so its first ``ord`` is the one counted per response already.
    """
    firsts = "SELECT file_no, {key}, min(ord) AS first FROM ice_kept_answers GROUP BY ALL"
    for table, source, key, fields in (
        ("ice_period_responses", "ice_src_responses", "rec", RESPONSE_FIELDS),
        ("ice_period_items", "ice_src_items", "item", _ITEMS),
    ):
        first = firsts.format(key=key)
        if whole_responses and key == "rec":
            first = "SELECT * FROM ice_rec_counts SEMI JOIN ice_kept_recs USING (file_no, rec)"
        select, joins = zip(*(_renamed(name, "s") for name in fields), strict=True)
        con.execute(
            f"CREATE TABLE {table} AS SELECT u.file_no, u.{key}, u.first, {', '.join(select)} "  # noqa: S608
            f"FROM ({first}) u JOIN {source} s USING (file_no, {key}) "
            f"{' '.join(j for j in joins if j)}"
        )


def coded_problems(con: duckdb.DuckDBPyConnection, period: str, checks: dict[str, str]) -> list:
    """The writer's checks (``checks``: label -> count over a column) on the coded tables."""
    where = {name: "ice_period_responses" for name in RESPONSE_FIELDS}
    where.update({name: "ice_period_items" for name in _ITEMS})
    where.update({name: "ice_kept_answers" for name in VALUE_FIELDS})
    failing: set[str] = set()
    for table in dict.fromkeys(where.values()):  # one scan of each table for all its checks
        mine = [
            label
            for label in checks
            if where["period" if label == "outside" else label.split(" ", 1)[1]] == table
        ]
        counts = con.execute(f"SELECT {', '.join(checks[m] for m in mine)} FROM {table}").fetchone()  # noqa: S608
        failing.update(label for label, n in zip(mine, counts, strict=True) if n)
    found = [label for label in checks if label in failing]
    return [*found, "repeated keys"] if _repeated_keys(con) else found


def _repeated_keys(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether two kept answers share (period, respondent, provider, dimension) after the names.

    None can when no two responses share a respondent and period and no two items of one file
    share a provider and dimension (checked on those small tables); else counted on codes.
    """
    (shared,) = con.execute(
        "SELECT (SELECT count(*) FROM (SELECT 1 FROM ice_period_responses "
        "GROUP BY period, respondent_id HAVING count(*) > 1)) + (SELECT count(*) FROM (SELECT 1 "
        "FROM ice_period_items GROUP BY file_no, provider_department, dimension "
        "HAVING count(*) > 1))"
    ).fetchone()
    if not shared:
        return False
    (repeated,) = con.execute(
        "SELECT count(*) FROM (SELECT 1 FROM ice_kept_answers a "
        "JOIN (SELECT file_no, rec, dense_rank() OVER (ORDER BY period, respondent_id) AS rk "
        "FROM ice_period_responses) r USING (file_no, rec) "
        "JOIN (SELECT file_no, item, dense_rank() OVER (ORDER BY provider_department, dimension) "
        "AS ik FROM ice_period_items) i USING (file_no, item) GROUP BY r.rk, i.ik "
        "HAVING count(*) > 1)"
    ).fetchone()
    return bool(repeated)


def code_coded(
    con: duckdb.DuckDBPyConnection, period: str, responses: list[str], items: list[str]
) -> tuple[int, int]:
    """``ice_responses``, ``ice_items`` and ``ice_answers`` as the long path's ``_code`` makes
    them: distinct responses (items) coded in order of first appearance, answers in row order.
    """
    con.execute("SET preserve_insertion_order = true")
    period_literal = "'" + period.replace("'", "''") + "'"
    for name, source, key, columns in (
        ("ice_responses", "ice_period_responses", "rec", responses),
        ("ice_items", "ice_period_items", "item", items),
    ):
        # Items carry no period of their own: the period's rows all have it (checked).
        listed = ", ".join(columns)
        extra = f", {period_literal} AS period" if key == "item" else ""
        body = f"SELECT *{extra} FROM {source}"  # noqa: S608
        con.execute(
            f"CREATE OR REPLACE TABLE {name} AS SELECT {listed}, "  # noqa: S608
            f"row_number() OVER (ORDER BY first) - 1 AS code "
            f"FROM (SELECT {listed}, min(first) AS first FROM ({body}) GROUP BY ALL) ORDER BY code"
        )
        same = " AND ".join(f"c.{c} IS NOT DISTINCT FROM s.{c}" for c in columns)
        con.execute(
            f"CREATE OR REPLACE TABLE {name}_of AS SELECT s.file_no, s.{key}, c.code "  # noqa: S608
            f"FROM ({body}) s JOIN {name} c ON {same}"
        )
    # The period is every row's (checked): a constant of the view, not a text per answer.
    con.execute(
        "CREATE OR REPLACE TABLE ice_answer_rows AS SELECT r.code AS response_code, "
        f"i.code AS item_code, {', '.join(f'a.{v}' for v in VALUE_FIELDS)} "
        "FROM ice_kept_answers a JOIN ice_responses_of r USING (file_no, rec) "
        "JOIN ice_items_of i USING (file_no, item) ORDER BY a.ord"
    )
    con.execute(
        "CREATE OR REPLACE VIEW ice_answers AS SELECT response_code, item_code, "  # noqa: S608
        f"{period_literal} AS period, {', '.join(VALUE_FIELDS)} FROM ice_answer_rows"
    )
    (n_responses,) = con.execute("SELECT count(*) FROM ice_responses").fetchone()
    (n_items,) = con.execute("SELECT count(*) FROM ice_items").fetchone()
    return int(n_responses), int(n_items)


def coded_summary(con: duckdb.DuckDBPyConnection) -> tuple[int, int, list[tuple[str, int]]]:
    """Respondents, providers, and (provider, respondents) of the kept rows."""
    (respondents,) = con.execute(
        "SELECT count(DISTINCT respondent_id) FROM ice_period_responses"
    ).fetchone()
    (providers,) = con.execute(
        "SELECT count(DISTINCT provider_department) FROM ice_period_items"
    ).fetchone()
    (coded,) = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'ice_answer_rows'"
    ).fetchone()
    # After the write (the usual call): joined on the single integer codes, cheaper.
    joins = (
        "ice_answer_rows a JOIN ice_items i ON i.code = a.item_code "
        "JOIN ice_responses r ON r.code = a.response_code"
        if coded
        else "ice_kept_answers a JOIN ice_period_items i USING (file_no, item) "
        "JOIN ice_period_responses r USING (file_no, rec)"
    )
    per_provider = con.execute(
        f"SELECT i.provider_department, count(DISTINCT r.respondent_id) FROM {joins} GROUP BY 1"  # noqa: S608
    ).fetchall()
    return int(respondents), int(providers), per_provider
