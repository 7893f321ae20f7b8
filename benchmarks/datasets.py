"""The benchmark's landing files: the demo generator's, and large enterprise months built in tiles.

Belongs here: writing a scenario's exports. Up to ``DIRECT_LIMIT`` employees the demo generator
writes the enterprise month in one go (byte-identical to earlier benchmark runs). Beyond that it
holds the whole organisation in memory (about 0.35 GB per 100,000 employees: ~7 GB for the 20x
month), so larger months are written in tiles: the demo generator's enterprise month of
``TILE_EMPLOYEES`` employees with seeds 42, 43, ... each, streamed into one file per feed with
the identifiers renumbered so they stay unique (employee ids in the roster and as ticket
requesters, ticket numbers; survey response ids are random per seed already). The files have
the demo's layouts and mappings, so the project and the limit prototype read them unchanged;
memory stays at one tile's, and time grows linearly with the employees.
"""

import csv
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

# The generated data ends here; runs name their periods explicitly (``--all`` = every period the
# landing files hold), so the benchmark does not depend on today's date.
DATA_END_PERIOD = "2026-10"
DIRECT_LIMIT = 500_000
TILE_EMPLOYEES = 100_000
SURVEY_HEADER_LINES = 3  # Qualtrics: column ids, question texts, import ids
_EMPLOYEE = re.compile(r"(E)(\d+)")
_TICKET = re.compile(r"([A-Z]+)(\d+)")


def generate(landing: Path, employees: int, periods: int, enterprise: bool) -> float:
    """Write the scenario's exports (enterprise month, or the demo); seconds taken."""
    from ice_pipeline.demo.generator import generate_demo, generate_enterprise_month

    started = time.perf_counter()
    if enterprise and employees > DIRECT_LIMIT:
        tile_enterprise(landing, employees=employees)
    elif enterprise:
        generate_enterprise_month(landing, employees=employees, end_period=DATA_END_PERIOD)
    else:
        generate_demo(landing, employees=employees, periods=periods, end_period=DATA_END_PERIOD)
    return time.perf_counter() - started


def _tile_sizes(employees: int | None, tile: int) -> Iterator[int]:
    """Equal tiles of at most ``tile`` employees summing to ``employees`` (endless if None)."""
    if employees is None:
        while True:
            yield tile
    count = -(-employees // tile)
    for index in range(count):
        yield employees // count + (1 if index < employees % count else 0)


def _renumber(value: str, pattern: re.Pattern[str], offset: int) -> tuple[str, int]:
    """``E0000017`` + 100 -> ``E0000117`` (same width at least); the number before the offset."""
    match = pattern.fullmatch(value)
    if match is None:
        return value, 0
    prefix, digits = match[1], match[2]
    number = int(digits)
    return f"{prefix}{number + offset:0{len(digits)}d}", number


def _append_csv(
    source: Path, out: Any, first: bool, columns: dict[str, tuple[re.Pattern[str], int]]
) -> dict[str, int]:
    """Copy ``source``'s rows into the open writer ``out``, renumbering ``columns``.

    Returns the largest original number seen per column, so the next tile starts above it.
    """
    largest = {name: 0 for name in columns}
    with source.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        if first:
            out.writerow(header)
        where = {header.index(name): name for name in columns}
        for row in reader:
            for index, name in where.items():
                pattern, offset = columns[name]
                row[index], number = _renumber(row[index], pattern, offset)
                largest[name] = max(largest[name], number)
            out.writerow(row)
    return largest


def _append_survey(source: Path, out: Any, first: bool, header: list[bytes]) -> None:
    """Append the survey body; the three header rows only once (checked equal per tile)."""
    with source.open("rb") as handle:
        lines = [handle.readline() for _ in range(SURVEY_HEADER_LINES)]
        if first:
            header[:] = lines
            out.writelines(lines)
        elif lines != header:
            raise RuntimeError(f"{source}: a tile's survey header differs from the first tile's")
        shutil.copyfileobj(handle, out, 1 << 20)


def tile_enterprise(
    landing: Path,
    *,
    employees: int | None = None,
    survey_bytes: int | None = None,
    tile: int = TILE_EMPLOYEES,
    seed: int = 42,
) -> dict[str, Any]:
    """Write an enterprise month of ``employees`` (or until the survey export reaches
    ``survey_bytes``) in tiles of the demo generator's enterprise month; a summary."""
    from ice_pipeline.demo.generator import generate_enterprise_month

    if (employees is None) == (survey_bytes is None):
        raise ValueError("give employees or survey_bytes")
    scratch = landing.parent / f"{landing.name}.tile"
    started = time.perf_counter()
    files: dict[str, Any] = {}
    ids = {"employee": 0, "ticket": 0}
    header: list[bytes] = []
    written = 0
    try:
        for index, size in enumerate(_tile_sizes(employees, tile)):
            generate_enterprise_month(
                scratch, employees=size, seed=seed + index, end_period=DATA_END_PERIOD
            )
            if index == 0:
                files = _open_outputs(scratch, landing)
            largest_employee = _append_csv(
                next((scratch / "hr").glob("*.csv")),
                files["hr"][1],
                index == 0,
                {"Employee ID": (_EMPLOYEE, ids["employee"])},
            )
            largest_ticket = _append_csv(
                next((scratch / "tickets").glob("*.csv")),
                files["tickets"][1],
                index == 0,
                {"number": (_TICKET, ids["ticket"]), "caller_id": (_EMPLOYEE, ids["employee"])},
            )
            _append_survey(
                next((scratch / "surveys").glob("*.csv")), files["surveys"][0], index == 0, header
            )
            ids["employee"] += max(largest_employee.values()) + 1
            ids["ticket"] += largest_ticket["number"] + 1
            written += size
            if survey_bytes is not None and files["surveys"][0].tell() >= survey_bytes:
                break
    finally:
        for handle, _ in files.values():
            handle.close()
        shutil.rmtree(scratch, ignore_errors=True)
    return {"employees": written, "tiles": index + 1, "seconds": time.perf_counter() - started}


def _open_outputs(scratch: Path, landing: Path) -> dict[str, Any]:
    """Copy the first tile's mappings and external files; open the three growing exports."""
    if landing.exists():
        shutil.rmtree(landing)
    landing.mkdir(parents=True)
    shutil.copytree(scratch / "external", landing / "external")
    files: dict[str, Any] = {}
    for feed in ("surveys", "tickets", "hr"):
        (landing / feed).mkdir()
        for mapping in (scratch / feed).glob("*.yaml"):
            shutil.copy2(mapping, landing / feed / mapping.name)
        name = next((scratch / feed).glob("*.csv")).name
        if feed == "surveys":  # copied as bytes: BOM, quoting and line ends stay the vendor's
            files[feed] = (open(landing / feed / name, "wb"), None)  # noqa: SIM115
        else:
            handle = open(landing / feed / name, "w", newline="", encoding="utf-8")  # noqa: SIM115
            files[feed] = (handle, csv.writer(handle, lineterminator="\n"))
    return files


def largest_export(landing: Path) -> tuple[str, int]:
    """The biggest input file under ``landing``: its path (relative) and size in bytes."""
    biggest = max(landing.rglob("*.csv"), key=lambda p: p.stat().st_size)
    return str(biggest.relative_to(landing)), biggest.stat().st_size
