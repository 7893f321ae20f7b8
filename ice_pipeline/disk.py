"""A full disk as an ordinary failure: one line naming the directory and the space needed.

Belongs here: recognising "no space left on device" (ENOSPC, and EDQUOT for a full quota) in an
``OSError`` or in a library's error text (DuckDB, great-expectations wrap it in their own
exceptions), and turning it into :class:`DiskFull`, an :class:`IceError` the CLI prints as one
line. Callers remove what they half-wrote before raising it; this module only words the message.
"""

import errno
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ice_pipeline.errors import IceError

FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT)
_FULL_TEXT = ("no space left on device", "disk quota exceeded", "not enough space on")
MIB = 1024 * 1024


class DiskFull(IceError):
    """No space left where the pipeline writes: ``directory`` where, ``needed_bytes`` how much."""

    def __init__(
        self, directory: Path, *, needed_bytes: int | None, free_bytes: int | None
    ) -> None:
        self.directory = directory
        self.needed_bytes = needed_bytes
        self.free_bytes = free_bytes
        free = f"{free_bytes / MIB:.1f} MB free" if free_bytes is not None else "free space unknown"
        needed = (
            f"about {max(needed_bytes, 1) / MIB:.1f} MB needed to write it"
            if needed_bytes is not None
            else "more space needed"
        )
        super().__init__(
            f"no space left on the device of {directory} ({needed}, {free})",
            fix="free space there (or point ICE_DATA_DIR at a larger disk), then run the same "
            "command again",
            where="disk full",
        )


def is_disk_full(err: BaseException) -> bool:
    """True for ENOSPC/EDQUOT, also when a library re-raised it as its own exception type."""
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, DiskFull):
            return True
        if isinstance(current, OSError) and current.errno in FULL_ERRNOS:
            return True
        if any(text in str(current).lower() for text in _FULL_TEXT):
            return True
        current = current.__cause__ or current.__context__
    return False


def free_bytes(directory: Path) -> int | None:
    """Free bytes on the device of ``directory`` (or of its nearest existing parent)."""
    probe = Path(directory)
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        return shutil.disk_usage(probe).free
    except OSError:
        return None


def disk_error(err: BaseException, directory: Path, *, needed_bytes: int | None) -> DiskFull | None:
    """A :class:`DiskFull` for ``directory`` when ``err`` is a full disk, else None."""
    if isinstance(err, DiskFull):
        return err
    if not is_disk_full(err):
        return None
    return DiskFull(Path(directory), needed_bytes=needed_bytes, free_bytes=free_bytes(directory))


@contextmanager
def disk_full_is_a_failure(directory: Path, *, needed_bytes: int | None = None) -> Iterator[None]:
    """Re-raise a full disk met inside the block as one :class:`DiskFull` naming ``directory``."""
    try:
        yield
    except IceError:
        raise
    except Exception as err:
        full = disk_error(err, directory, needed_bytes=needed_bytes)
        if full is None:
            raise
        raise full from err
