"""Where a command may write a file a person asked for (``report show --out``), and where never.

Belongs here: checking an output path before anything is written. A command run by the
pipeline's operator holds the rights of the service user, so a mistyped or hostile ``--out``
could otherwise overwrite the warehouse, a landing export or the analyst file. The rules:

* never into the data directory (``ICE_DATA_DIR``), the DuckDB warehouse file or the analyst
  file, judged on the resolved path, so a symbolic link pointing there is caught too;
* never over an existing file unless ``force`` (``--force``); never over a directory.
"""

import os
from pathlib import Path

from ice_pipeline.errors import IceError
from ice_pipeline.settings import Settings


def protected_locations(settings: Settings, environ: dict[str, str] | None = None) -> list[Path]:
    """The data directory, the DuckDB warehouse file (and its WAL) and the analyst file."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    from ice_pipeline.warehouse.analyst_file import analyst_path

    places = [settings.data_dir.resolve(), analyst_path(settings.data_dir, environ)]
    try:
        url = make_url(settings.warehouse_url)
    except (ArgumentError, ValueError):
        url = None
    if url is not None and url.get_backend_name() == "duckdb" and url.database:
        warehouse = Path(url.database).expanduser().resolve()
        places += [warehouse, warehouse.with_name(warehouse.name + ".wal")]
    return places


def _inside(path: Path, place: Path) -> bool:
    return path == place or path.is_relative_to(place)


def checked_output_path(
    out: Path,
    settings: Settings,
    *,
    force: bool,
    environ: dict[str, str] | None = None,
    option: str = "--out",
) -> Path:
    """``out`` as an absolute path, or IceError when writing there is not allowed."""
    given = Path(out).expanduser()
    literal = given if given.is_absolute() else Path.cwd() / given
    resolved = literal.resolve()
    for place in protected_locations(settings, environ):
        if _inside(resolved, place) or _inside(literal, place):
            raise IceError(
                f"{out} is inside the pipeline's data ({place}); commands never write there",
                fix=f"choose a {option} path outside ICE_DATA_DIR, e.g. ./report.html",
                where=option,
            )
    if literal.is_dir():
        raise IceError(
            f"{out} is a directory",
            fix=f"give {option} a file name, e.g. ./report.html",
            where=option,
        )
    if os.path.lexists(literal) and not force:
        raise IceError(
            f"{out} already exists and would be overwritten",
            fix="choose another file name, or add --force to replace it",
            where=option,
        )
    return literal
