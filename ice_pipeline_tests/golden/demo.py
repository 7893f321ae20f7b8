"""The golden demo run: a small fixed demo organisation, a few planted bad rows, the real job.

Belongs here: the demo's parameters, the rows planted so that the quarantine is not empty, and
running ``ice_nightly_job`` through ``Runner`` exactly as ``ice-pipeline run`` does. Everything is
fixed (generator seed, pseudonym key given as ICE_PSEUDONYM_SALT, periods), so two runs of the
same code give the same tables. Does not belong here: dumping or comparing tables (dump.py).
"""

import csv
import io
from collections.abc import Mapping
from pathlib import Path

from ice_pipeline.demo.generator import generate_demo
from ice_pipeline.runner import Runner, RunSummary

EMPLOYEES = 300
SEED = 42
PERIODS = ["2026-08", "2026-09", "2026-10"]
# Given explicitly (not the demo mode's built-in salt) so that the pseudonyms of the reference
# cannot change when the demo salt does.
PSEUDONYM_KEY = "golden-demo-pseudonym-key-not-secret"

# Rows planted in the generated exports, one kind of row-level problem per feed, so that
# ice_private.quarantine holds rows and the quarantine reasons are part of the reference. At most
# one bad row per ticket file: the files have ~25 rows and the default quarantine-share stop is 5%.
BAD_TICKETS = {
    "servicenow_incidents_2026-09.csv": "INC0999901,14-09-2026 10:00,Printer jam,E0000109,"
    "3 - Moderate,Closed,Group 99,Kim Lee,Kim Lee,15-09-2026 10:00,16-09-2026 10:00,TRUE,0,4",
    "servicenow_incidents_2026-10.csv": "INC0999902,14-10-2026 10:00,Printer jam,E0000109,"
    "Panic,Closed,Legal Counsel,Kim Lee,Kim Lee,15-10-2026 10:00,16-10-2026 10:00,TRUE,0,4",
}
BAD_ROSTER_ROW = (
    "E0999999,Test,Person,test.person@staff.example.com,Legal,Cardiff,not a date,,,Active"
)
BAD_NPS_ROW = "2026-10-02,Retail Banking,15"
# (file, data row index, column, value): an out-of-scale rating and a word where a rating belongs.
BAD_RATINGS = [
    ("ice_pulse_2026-09.csv", 7, "Q_IT_1", "11"),
    ("ice_pulse_2026-10.csv", 11, "Q_HR_2", "lots"),
]
QUALTRICS_HEADER_ROWS = 3  # column ids, question texts, import ids


def build_landing(landing: Path) -> None:
    """Generate the demo organisation under ``landing`` and plant the bad rows."""
    generate_demo(
        landing, employees=EMPLOYEES, periods=len(PERIODS), seed=SEED, end_period=PERIODS[-1]
    )
    for name, row in BAD_TICKETS.items():
        _append_line(landing / "tickets" / name, row)
    _append_line(landing / "hr" / f"roster_{PERIODS[-1]}.csv", BAD_ROSTER_ROW)
    _append_line(landing / "external" / f"nps_responses_{PERIODS[-1]}.csv", BAD_NPS_ROW)
    for name, index, column, value in BAD_RATINGS:
        _set_cell(landing / "surveys" / name, index, column, value)


def _append_line(path: Path, line: str) -> None:
    text = path.read_text(encoding="utf-8-sig")
    bom = "\ufeff" if path.read_bytes().startswith(b"\xef\xbb\xbf") else ""
    path.write_text(f"{bom}{text.rstrip(chr(10))}\n{line}\n", encoding="utf-8")


def _set_cell(path: Path, data_row: int, column: str, value: str) -> None:
    raw = path.read_bytes()
    bom = raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    header = rows[0]
    rows[QUALTRICS_HEADER_ROWS + data_row][header.index(column)] = value
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator="\n").writerows(rows)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + out.getvalue().encode("utf-8"))


def environ(data_dir: Path, warehouse_url: str, dagster_home: Path) -> dict[str, str]:
    """The ICE_* settings of the golden run (demo mode for the demo's config defaults)."""
    return {
        "ICE_DATA_DIR": str(data_dir),
        "ICE_WAREHOUSE_URL": warehouse_url,
        "ICE_DEMO_MODE": "1",
        "ICE_PSEUDONYM_SALT": PSEUDONYM_KEY,
        "DAGSTER_HOME": str(dagster_home),
    }


def run_demo(
    data_dir: Path, warehouse_url: str, dagster_home: Path, extra: Mapping[str, str] | None = None
) -> RunSummary:
    """Build ``data_dir/landing`` and run every period of the demo into ``warehouse_url``."""
    build_landing(data_dir / "landing")
    dagster_home.mkdir(parents=True, exist_ok=True)
    (dagster_home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = {**environ(data_dir, warehouse_url, dagster_home), **(extra or {})}
    with open("/dev/null", "w") as quiet:  # noqa: PTH123 - the runner wants a text stream
        return Runner(env, out=quiet).run(PERIODS)
