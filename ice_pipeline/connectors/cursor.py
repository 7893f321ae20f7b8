"""Where each source's pull stopped: read back from the committed provenance sidecars.

Belongs here: ``last_commit`` (the newest batch of a source whose data file is on disk with the
sha256 its sidecar records) and ``next_batch``. The cursor of a source is the ``cursor_to`` of
that sidecar, so it advances exactly when a pull's data is durably landed and never before
(``connectors.landing`` writes the sidecar last). Keeping it beside the data rather than in the
warehouse means a landing folder restored from backup, or emptied by hand, can never claim data
that is not there: an emptied folder simply pulls again from the configured start.
"""

import hashlib
import json
from pathlib import Path
from typing import Any

from ice_pipeline.connectors.landing import SIDECAR_SUFFIX


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def committed(folder: Path) -> list[dict[str, Any]]:
    """Every committed batch in ``folder``, oldest first (a sidecar without its file is skipped)."""
    found: list[dict[str, Any]] = []
    if not folder.is_dir():
        return found
    for sidecar in folder.glob(f"*{SIDECAR_SUFFIX}"):
        try:
            record = json.loads(sidecar.read_text(encoding="utf-8"))
            data = folder / record["file"]
            if data.is_file() and _sha256(data) == record["sha256"]:
                found.append(record)
        except (OSError, ValueError, KeyError, TypeError):
            continue  # an unreadable sidecar commits nothing
    return sorted(found, key=lambda r: int(r.get("batch", 0)))


def last_commit(folder: Path) -> dict[str, Any] | None:
    batches = committed(folder)
    return batches[-1] if batches else None


def next_batch(folder: Path) -> int:
    """One past the newest committed batch: a pull stopped before its commit reuses its number."""
    last = last_commit(folder)
    return int(last["batch"]) + 1 if last else 1
