"""One period's survey ratings gathered in DuckDB from the cached parses: never a pandas frame.

Belongs here: the SQL form of the corrections rule (``corrections.py`` states it; its pandas
function stays as the tests' independent reference), the per-key net under it, the canonical
names (``names.apply_names``, as small lookup tables) and the metadata the ``survey_tables``
asset reports, over the period's cached Parquet files in landing order. Coding and writing the
rows is ``warehouse/writes_surveys_stream.py``. When every file of the period was cached coded
(a staged export, ``survey_coded.py``), ``survey_period_coded.py`` does the same without the
long table; a coded file beside long ones is read back long here (``survey_coded.wide_sql``).

Why: at 20M ratings (a 210 MB export) the pandas path held several GB for this step (issue 13,
item 7). Here the rows live in a DuckDB file that spills to disk under a memory limit, so the
step's memory is bounded by that limit, not by the export.

Row order is the pandas path's: files in landing order, rows in file order (``ord`` encodes
both), so the codes given in order of first appearance are the same.
"""

import contextlib
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from ice_pipeline.cache import CachedParse
from ice_pipeline.ingest.names import NAME_GROUPS
from ice_pipeline.warehouse.bulk import _sql_cast_type
from ice_pipeline.warehouse.schema import survey_ratings

# The DuckDB memory the staging (and the DuckDB warehouse while it loads the rows) may use
# before spilling to disk: the step's bound, whatever the export's size (issue 13, item 7).
MEMORY_LIMIT = "512MB"
TABLE = "ice_period_ratings"  # the period's kept rows: survey_ratings' columns and ``ord``
COLUMNS = [c.name for c in survey_ratings.columns]
KEYS = [c.name for c in survey_ratings.primary_key.columns]
# Parquet types read as each column's type without changing a value (else: the pandas path).
_ACCEPTED = {
    "VARCHAR": {"VARCHAR"},
    "DOUBLE": {"DOUBLE", "FLOAT", "INTEGER", "BIGINT"},
    "BOOLEAN": {"BOOLEAN"},
    "INTEGER": {"INTEGER", "BIGINT"},
    "TIMESTAMP": {"TIMESTAMP", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S"},
}
_ROW_BITS = 48  # ord = file number * 2**48 + row number (coded: record and column) in the file


@dataclass
class StagedRatings:
    """The period's kept ratings in ``TABLE`` of ``con``, and what the asset reports of them."""

    con: duckdb.DuckDBPyConnection
    folder: Path
    rows: int
    files: int
    duplicates_dropped: int
    responses_replaced: int
    ratings_replaced: int
    coded: bool = False  # gathered from coded parses (survey_period_coded.py), no ``TABLE``

    def close(self) -> None:
        with contextlib.suppress(duckdb.Error):
            self.con.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    def summary(self) -> tuple[int, int, pd.DataFrame]:
        """Respondents, providers, and respondents per provider (``support.counts_by``'s frame)."""
        if not self.rows:
            return 0, 0, pd.DataFrame({"provider_department": [], "respondents": []})
        if self.coded:
            from ice_pipeline.ingest.survey_period_coded import coded_summary

            respondents, providers, pairs = coded_summary(self.con)
            preview = pd.DataFrame(pairs, columns=["provider_department", "respondents"])
            preview["respondents"] = preview["respondents"].astype("int64")
            return (
                respondents,
                providers,
                preview.sort_values("provider_department", ignore_index=True),
            )
        respondents, providers = self.con.execute(
            "SELECT count(DISTINCT respondent_id), count(DISTINCT provider_department) "
            f"FROM {TABLE}"  # noqa: S608
        ).fetchone()
        preview = self.con.execute(
            f"SELECT provider_department, count(DISTINCT respondent_id) AS respondents "  # noqa: S608
            f"FROM {TABLE} GROUP BY provider_department"
        ).df()
        preview["respondents"] = preview["respondents"].astype("int64")
        preview = preview.sort_values("provider_department", ignore_index=True)
        return int(respondents), int(providers), preview


def _quote(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _readable(con: duckdb.DuckDBPyConnection, path: Path) -> bool:
    """Whether the file holds exactly survey_ratings' columns in types read without change."""
    described = con.execute(f"DESCRIBE SELECT * FROM read_parquet({_quote(path)})").fetchall()
    types = {row[0]: str(row[1]) for row in described}
    if set(types) != set(COLUMNS):
        return False
    return all(
        types[c.name] in _ACCEPTED.get(_sql_cast_type(c), set()) for c in survey_ratings.columns
    )


def _source_sql(files: Sequence[tuple[int, Path]]) -> str:
    """Every file's rows with ``ord`` and ``file_no``; a coded parse's folder rebuilt long."""
    from ice_pipeline.ingest.survey_coded import wide_sql

    casts = ", ".join(
        f"CAST({c.name} AS {_sql_cast_type(c)}) AS {c.name}" for c in survey_ratings.columns
    )
    parts = []
    for number, path in files:
        base = number * (1 << _ROW_BITS)
        if path.is_dir():
            parts.append(f"SELECT {casts}, ord, {number} AS file_no FROM ({wide_sql(path, base)})")  # noqa: S608
            continue
        parts.append(
            f"SELECT {casts}, {base} + file_row_number AS ord, {number} AS file_no "  # noqa: S608
            f"FROM read_parquet({_quote(path)}, file_row_number = true)"
        )
    return " UNION ALL ".join(parts)


def _load_names(con: duckdb.DuckDBPyConnection, names: dict[str, dict[str, str]]) -> None:
    for group in NAME_GROUPS:
        chosen = names.get(group) or {}
        frame = pd.DataFrame(
            {"spelling": list(chosen), "name": list(chosen.values())}, dtype=object
        )
        con.execute(f"CREATE TABLE ice_names_{group} (spelling VARCHAR, name VARCHAR)")
        if len(frame):
            con.register("ice_names_frame", frame)
            con.execute(f"INSERT INTO ice_names_{group} SELECT * FROM ice_names_frame")
            con.unregister("ice_names_frame")


def _renamed_select() -> tuple[str, str]:
    """The select list with department and dimension columns renamed, and its joins."""
    group_of = {column: group for group, columns in NAME_GROUPS.items() for column in columns}
    select, joins = [], []
    for name in [*COLUMNS, "ord"]:
        group = group_of.get(name)
        if group is None:
            select.append(f"k.{name}")
            continue
        select.append(f"coalesce(n_{name}.name, k.{name}) AS {name}")
        joins.append(f"LEFT JOIN ice_names_{group} n_{name} ON n_{name}.spelling = k.{name}")
    return ", ".join(select), " ".join(joins)


def stage_ratings(
    parses: Sequence[CachedParse], period: str, names: dict[str, dict[str, str]], workdir: Path
) -> StagedRatings | None:
    """The period's ratings after whole-response replacement, the per-key net and the names.

    None when a cached parse cannot be read this way (an old cache with other column types):
    the caller then takes the pandas path, which gives the same rows.
    """
    files = []  # (file number, long Parquet file or coded folder)
    for number, parse in enumerate(parses):
        if (
            parse.has_table("survey_ratings")
            and not parse.meta["tables"]["survey_ratings"]["split"]
        ):
            return None
        path = parse.table_file("survey_ratings", period) or parse.coded_folder(
            "survey_ratings", period
        )
        if path is not None:
            files.append((number, path))
    workdir.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="survey-period-", dir=workdir))
    con = duckdb.connect(str(folder / "stage.duckdb"))
    staged = StagedRatings(con, folder, 0, 0, 0, 0, 0)
    try:
        con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
        con.execute(f"SET temp_directory = {_quote(folder / 'spill')}")
        con.execute("SET preserve_insertion_order = false")
        if not all(path.is_dir() or _readable(con, path) for _, path in files):
            staged.close()
            return None
        _load_names(con, names)
        if files and all(path.is_dir() for _, path in files):  # every file coded: kept coded
            from ice_pipeline.ingest.survey_period_coded import gather_coded

            staged.coded = True
            found = gather_coded(con, files)
            (staged.rows, staged.files, staged.duplicates_dropped) = found[:3]
            (staged.responses_replaced, staged.ratings_replaced) = found[3:]
        else:
            _gather(staged, files)
    except BaseException:
        staged.close()
        raise
    return staged


def _gather(staged: StagedRatings, files: Sequence[tuple[int, Path]]) -> None:
    con = staged.con
    if not files:
        con.execute(
            f"CREATE TABLE {TABLE} AS SELECT "  # noqa: S608
            + ", ".join(
                f"CAST(NULL AS {_sql_cast_type(c)}) AS {c.name}" for c in survey_ratings.columns
            )
            + ", CAST(NULL AS BIGINT) AS ord LIMIT 0"
        )
        return
    con.execute(f"CREATE VIEW ice_source AS {_source_sql(files)}")
    # Per respondent and file: the rule needs only these (a few per respondent, not per rating).
    # A later file replaces every answer of its respondents in the earlier files (corrections.py).
    con.execute(
        "CREATE TABLE ice_respondent_files AS SELECT respondent_id, file_no, n, "
        "respondent_id IS NULL OR file_no = max(file_no) OVER (PARTITION BY respondent_id) AS kept "
        "FROM (SELECT respondent_id, file_no, count(*) AS n FROM ice_source GROUP BY ALL)"
    )
    replaced, replaced_rows, kept_rows, kept_files = con.execute(
        "SELECT count(*) FILTER (NOT kept), coalesce(sum(n) FILTER (NOT kept), 0), "
        "coalesce(sum(n) FILTER (kept), 0), count(DISTINCT file_no) FILTER (kept) "
        "FROM ice_respondent_files"
    ).fetchone()
    kept = (
        "SELECT s.* FROM ice_source s LEFT JOIN ice_respondent_files f "
        "ON f.respondent_id = s.respondent_id AND f.file_no = s.file_no "
        "WHERE s.respondent_id IS NULL OR f.kept"
    )
    if kept_files > 1:  # as corrections._combine: the later row of a repeated key wins
        kept = (
            f"SELECT * FROM ({kept}) QUALIFY row_number() OVER "  # noqa: S608
            f"(PARTITION BY {', '.join(KEYS)} ORDER BY ord DESC) = 1"
        )
    select, joins = _renamed_select()
    con.execute(f"CREATE TABLE {TABLE} AS SELECT {select} FROM ({kept}) k {joins}")  # noqa: S608
    (rows,) = con.execute(f"SELECT count(*) FROM {TABLE}").fetchone()  # noqa: S608
    staged.rows = int(rows)
    staged.files = int(kept_files)
    staged.duplicates_dropped = int(kept_rows) - int(rows)
    staged.responses_replaced = int(replaced)
    staged.ratings_replaced = int(replaced_rows)


def kept_comments(
    staged: StagedRatings, parses: Sequence[CachedParse], period: str
) -> list[pd.DataFrame]:
    """Each file's comments of the period, without the respondents whose answers a later file's
    ratings replace (the rule of ``corrections.py``; comments are small, so pandas).
    """
    (gathered,) = staged.con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'ice_respondent_files'"
    ).fetchone()
    frames = []
    for number, parse in enumerate(parses):
        comments = parse.table("survey_comments", period)
        if comments is None or comments.empty:
            continue
        if gathered:
            staged.con.register("ice_comment_ids", comments[["respondent_id"]])
            later = staged.con.execute(
                "SELECT DISTINCT respondent_id FROM ice_respondent_files WHERE file_no > ? "
                "AND respondent_id IN (SELECT CAST(respondent_id AS VARCHAR) FROM ice_comment_ids)",
                [number],
            ).df()["respondent_id"]
            staged.con.unregister("ice_comment_ids")
            comments = comments.loc[~comments["respondent_id"].isin(later).to_numpy()]
        frames.append(comments)
    return frames
