"""Landing pulled data: one CSV per pull plus its provenance sidecar, written atomically.

Belongs here: where a source's files go (``landing/<feed>/<source>/``), how a pull becomes a
file the existing parsers read (written under a temporary name, flushed to disk, renamed), the
sidecar that records what was pulled (source, query, cursor range, record count, sha256), and
copying the source's mapping beside its files. Reading the committed cursor back is
``connectors.cursor``.

The commit order is the whole guarantee: the data file is renamed into place first, the sidecar
last. The sidecar is the commit record (``cursor.last_commit`` only believes a sidecar whose
file is there with the same sha256), so a pull stopped at any point either left nothing that
counts, or a complete file that the next pull rewrites under the same batch name.
"""

import csv
import hashlib
import io
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

SIDECAR_SUFFIX = ".provenance.json"
PART_PREFIX = "."  # temporary files start with a dot and end in .part: ingest never reads them
PART_SUFFIX = ".part"


@dataclass(frozen=True)
class Landed:
    """One committed pull: the data file, its sidecar and what the sidecar says."""

    data_path: Path
    sidecar_path: Path
    provenance: dict[str, Any]


def source_dir(landing_dir: Path, feed: str, source: str) -> Path:
    return Path(landing_dir) / feed / source


def batch_file_name(source: str, batch: int, snapshot_period: str | None = None) -> str:
    """``<source>_<batch>.csv``; HR snapshots carry their month (``roster_2026-11_000004.csv``).

    Names sort in pull order, and ingest lets the later file win when two hold the same key.
    """
    middle = f"_{snapshot_period}" if snapshot_period else ""
    return f"{source}{middle}_{batch:06d}.csv"


def csv_bytes(header_rows: Sequence[Sequence[str]], rows: Iterable[Sequence[Any]]) -> bytes:
    """UTF-8 CSV (RFC 4180 quoting, CRLF as the tools write), header rows first."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerows(header_rows)
    for row in rows:
        writer.writerow(["" if value is None else str(value) for value in row])
    return buffer.getvalue().encode("utf-8")


def _write_durably(path: Path, content: bytes) -> None:
    """Write ``content`` to ``.<name>.part`` beside ``path``, fsync, then rename onto ``path``."""
    staging = path.with_name(f"{PART_PREFIX}{path.name}{PART_SUFFIX}")
    with open(staging, "wb") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(staging, path)
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # some filesystems do not open directories; the rename is still atomic
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def install_mapping(folder: Path, mapping: Path | None) -> bool:
    """Copy the source's mapping to ``<folder>/mapping.yaml`` (when set and changed)."""
    if mapping is None:
        return False
    target = folder / "mapping.yaml"
    content = Path(mapping).read_bytes()
    if target.is_file() and target.read_bytes() == content:
        return False
    folder.mkdir(parents=True, exist_ok=True)
    _write_durably(target, content)
    return True


def land_batch(
    folder: Path,
    file_name: str,
    content: bytes,
    provenance: dict[str, Any],
    *,
    before_commit: Any = None,
) -> Landed:
    """Land ``content`` as ``folder/file_name`` and commit it with its sidecar.

    ``before_commit`` (tests) is called between the data rename and the sidecar write, the
    one moment where a crash leaves a complete file without a commit record.
    """
    folder.mkdir(parents=True, exist_ok=True)
    data_path = folder / file_name
    sidecar_path = folder / (Path(file_name).stem + SIDECAR_SUFFIX)
    record = {
        **provenance,
        "file": file_name,
        "sha256": hashlib.sha256(content).hexdigest(),
        "bytes": len(content),
        "landed_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    _write_durably(data_path, content)
    if before_commit is not None:
        before_commit()
    _write_durably(sidecar_path, json.dumps(record, indent=1, sort_keys=True).encode("utf-8"))
    return Landed(data_path, sidecar_path, record)


def remove_stale_parts(folder: Path) -> int:
    """Delete temporary files a stopped pull left behind (they never count as landed)."""
    removed = 0
    if folder.is_dir():
        for part in folder.glob(f"{PART_PREFIX}*{PART_SUFFIX}"):
            part.unlink(missing_ok=True)
            removed += 1
    return removed
