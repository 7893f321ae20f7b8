"""The executive summary and a provider page, drawn by headless Debian chromium.

Screenshots go to ``test-artifacts/screenshots/`` at the repository root (gitignored) so a person
can look at them. Without chromium the tests skip locally and fail under CI=true.
"""

import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ice_pipeline.reports.config import ReportConfig
from ice_pipeline.reports.render import render_report
from ice_pipeline.reports.sample import sample_comments, sample_quality, sample_tables
from ice_pipeline.reports.viewmodel import build_executive_view, build_provider_view

pytestmark = pytest.mark.browser

REPO_ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = REPO_ROOT / "test-artifacts" / "screenshots"
PERIOD = "2026-10"
CHART_BLUE = np.array([0x00, 0x72, 0xB2])


def _chromium() -> str:
    path = shutil.which("chromium") or (
        "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
    )
    if path is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("CI=true but chromium is missing: .ci/run must `apt-get install chromium`")
        pytest.skip("Debian's chromium is not installed (apt-get install -y chromium)")
    return path


def _run_chromium(chromium: str, profile: Path, *args: str) -> subprocess.CompletedProcess:
    command = [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        *args,
    ]
    return subprocess.run(command, capture_output=True, timeout=90, check=True)


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> dict[str, Path]:
    directory = tmp_path_factory.mktemp("pages")
    tables = sample_tables(PERIOD)
    config = ReportConfig(organisation="Northwind Demo Ltd")
    executive = render_report(
        build_executive_view(PERIOD, tables, sample_quality(), config), audience="executives"
    )
    provider = render_report(
        build_provider_view(PERIOD, "IT", tables, sample_comments(PERIOD), config),
        audience="department_heads",
    )
    written = {}
    for name, report in (("executive_summary", executive), ("provider_IT", provider)):
        path = directory / f"{name}.html"
        path.write_text(report.html, encoding="utf-8")
        written[name] = path
    return written


# The provider page: trend, dimensions, consumers and (issue 14) the key-driver quadrant.
@pytest.mark.parametrize(("name", "expected_svgs"), [("executive_summary", 3), ("provider_IT", 4)])
def test_page_renders_with_charts(pages, tmp_path, name, expected_svgs):
    chromium = _chromium()
    html = pages[name]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    screenshot = SCREENSHOTS / f"{name}.png"
    screenshot.unlink(missing_ok=True)
    _run_chromium(
        chromium,
        tmp_path / "profile",
        "--window-size=1200,3000",
        f"--screenshot={screenshot}",
        html.as_uri(),
    )
    pixels = np.asarray(Image.open(screenshot).convert("RGB"))
    assert pixels.shape[:2] == (3000, 1200)

    # Not blank: plenty of ink, many colours.
    non_white = (pixels < 245).any(axis=2).mean()
    packed = (
        (pixels[..., 0].astype(np.uint32) << 16)
        | (pixels[..., 1].astype(np.uint32) << 8)
        | pixels[..., 2]
    )
    colours = len(np.unique(packed))
    assert non_white > 0.10, f"{name}: only {non_white:.1%} of the page is not white"
    assert colours > 200, f"{name}: only {colours} distinct colours"
    # The charts are drawn: the bar/line blue covers a real area.
    blue = (np.abs(pixels.astype(int) - CHART_BLUE).sum(axis=2) < 40).sum()
    assert blue > 5000, f"{name}: only {blue} chart-blue pixels"

    dom = _run_chromium(
        chromium, tmp_path / "profile-dom", "--dump-dom", html.as_uri()
    ).stdout.decode("utf-8")
    charts = re.findall(r"<svg[^>]*class=\"chart\"", dom)
    assert len(charts) == expected_svgs
    # Axes, bars, lines and hatching exist as elements (hand-written SVG since issue 14 uses
    # fewer, larger paths than matplotlib did).
    assert dom.count("<path") > 30
