"""The nightly job's shape (asset names, partition keys, pulls) without loading Dagster.

Belongs here: reading the shape from the definitions once, recording it under
``<data_dir>/cache/runs/shape.json`` with the key of everything it depends on, and giving the
recorded one back while that key is unchanged; likewise the note that the config file was found
valid by this code with these settings (``config-valid.json``, the same key). The runner plans a
tick from these (run_plan.py): a tick with nothing new then never imports Dagster, the
definitions or pandas (~2-3 s of CPU).

What the shape depends on, all in the key: the package version and the modification time and
size of every module of the package (a changed asset in a development checkout rebuilds it),
every ``ICE_*`` setting of the run's environment and of this process (the partitions read
``ICE_FIRST_PERIOD`` when the code loads), the config file's content (connectors add pull
assets), and the current month in UTC (the last partition is the latest complete month).
"""

import hashlib
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

SHAPE_FILE = "shape.json"
VALID_CONFIG_FILE = "config-valid.json"


@dataclass
class JobShape:
    unpartitioned: list[str]  # asset keys as user strings, sorted
    partitioned: list[str]
    partition_keys: list[str]
    has_pulls: bool


def shape_key(config_file: Path | None, environ: Mapping[str, str]) -> str:
    """A hash of everything the job's shape depends on (module docstring)."""
    from importlib.metadata import version

    from ice_pipeline.cache import file_sha256

    digest = hashlib.sha256()

    def add(*parts: object) -> None:
        digest.update(("\x1f".join(str(part) for part in parts) + "\x1e").encode("utf-8"))

    add("version", version("ice-pipeline"), "month", datetime.now(UTC).strftime("%Y-%m"))
    for label, env in (("run", environ), ("process", os.environ)):
        for key in sorted(k for k in env if k.startswith("ICE_")):
            add(label, key, env[key])
    if config_file is not None and config_file.is_file():
        add("config", file_sha256(config_file))
    package = Path(__file__).resolve().parent
    for path in sorted(package.rglob("*.py")):
        stat = path.stat()
        add("module", path.relative_to(package).as_posix(), stat.st_size, stat.st_mtime_ns)
    return digest.hexdigest()


def shape_of(definitions: Any) -> JobShape:
    """The shape read from loaded definitions (imports Dagster)."""
    from ice_pipeline.defs.jobs import NIGHTLY_JOB_NAME

    graph = definitions.resolve_asset_graph()
    keys = graph.get_all_asset_keys()
    job = definitions.resolve_job_def(NIGHTLY_JOB_NAME)
    unpartitioned = sorted(k.to_user_string() for k in keys if not graph.get(k).is_partitioned)
    return JobShape(
        unpartitioned=unpartitioned,
        partitioned=sorted(k.to_user_string() for k in keys if graph.get(k).is_partitioned),
        partition_keys=list(job.partitions_def.get_partition_keys()) if job.partitions_def else [],
        has_pulls=any(
            graph.get(k).group_name == "pull" for k in keys if not graph.get(k).is_partitioned
        ),
    )


def job_shape(
    records_dir: Path,
    config_file: Path | None,
    environ: Mapping[str, str],
    load_definitions: Callable[[], Any],
) -> JobShape:
    """The recorded shape if its key still matches, else read from the definitions and recorded."""
    key = shape_key(config_file, environ)
    path = records_dir / SHAPE_FILE
    try:
        recorded = json.loads(path.read_text(encoding="utf-8"))
        if recorded["key"] == key:
            return JobShape(**recorded["shape"])
    except (OSError, ValueError, KeyError, TypeError):
        pass  # no record, or an unreadable one: read the definitions
    shape = shape_of(load_definitions())
    try:
        _write_record(path, {"key": key, "shape": asdict(shape)})
    except OSError:
        pass  # a read-only cache only costs the next tick the definitions
    return shape


def _valid_config_key(config_file: Path | None, environ: Mapping[str, str]) -> str:
    # Validation reads the config and ICE_* settings only (connector credentials are ICE_* too).
    return hashlib.sha256(("valid-config:" + shape_key(config_file, environ)).encode()).hexdigest()


def config_already_valid(
    records_dir: Path, config_file: Path | None, environ: Mapping[str, str]
) -> bool:
    """This config, code and environment passed ``validate_config`` before."""
    try:
        recorded = json.loads((records_dir / VALID_CONFIG_FILE).read_text(encoding="utf-8"))
        return recorded["key"] == _valid_config_key(config_file, environ)
    except (OSError, ValueError, KeyError, TypeError):
        return False


def record_config_valid(
    records_dir: Path, config_file: Path | None, environ: Mapping[str, str]
) -> None:
    """Note that ``validate_config`` passed (hashes only: no setting is stored)."""
    try:
        _write_record(
            records_dir / VALID_CONFIG_FILE, {"key": _valid_config_key(config_file, environ)}
        )
    except OSError:
        pass  # the next run validates again


def _write_record(path: Path, record: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_suffix(".tmp")
    staging.write_text(json.dumps(record), encoding="utf-8")
    os.replace(staging, path)
