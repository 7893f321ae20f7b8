"""Static charts for the reports: SVG for the archive, PNG (matplotlib) for email.

The bar and trend charts' SVG is hand-written text (``svg_charts``, issue 14: ~0.3 ms instead of
130-420 ms per chart); the scatter chart's SVG and every PNG are drawn by matplotlib.

Each chart function takes plain Python values (never a DataFrame) and returns a :class:`Chart`
carrying both encodings plus its text alternative: an ``alt`` sentence and the data as a table.
The PNG is drawn only when first asked for (``Chart.png``): drawing it costs about as much as the
SVG, and most pages of a period are archived but never emailed (see docs/performance.md).
Output is byte-for-byte deterministic: figures are built without pyplot, SVG ids are salted with
the chart id, dates and creator metadata are left out, and text is kept as SVG ``<text>``
(escaped by matplotlib) rather than glyph paths, so labels stay searchable and accessible.
Withheld items are drawn without a bar or point and never carry a number. (The provider x
consumer matrix is an HTML table since issue 14: as an image it was ~4,650 px wide.)
"""

import io
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property, wraps
from typing import Any, ParamSpec

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.textpath import TextToPath

from ice_pipeline.reports import svg_charts

P = ParamSpec("P")

# Colour-blind-safe palette (Okabe-Ito) for lines and bars.
INK = "#1f2933"
BLUE = "#0072B2"
ORANGE = "#E69F00"
GREY = "#9aa5b1"
LIGHT_GREY = "#e4e7eb"
LABEL_CHARS = 28

_RC: dict[str, Any] = {
    "svg.fonttype": "none",
    "text.parse_math": False,  # a '$' in a department name must not switch to mathtext
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans"],
    "font.size": 10,
    "axes.edgecolor": GREY,
    "axes.labelcolor": INK,
    "xtick.color": INK,
    "ytick.color": INK,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "hatch.color": "#7b8794",
    "path.simplify": False,
}


@dataclass(frozen=True)
class Chart:
    """One chart in both encodings, with what a reader without images needs."""

    cid: str  # chart id: salts the SVG ids and names the PNG part in email
    title: str
    alt: str
    svg: str  # inline <svg> markup, no XML prolog
    table_headers: tuple[str, ...]
    table_rows: tuple[tuple[str, ...], ...]
    draw_png: Callable[[], bytes] = field(repr=False, compare=False)

    @cached_property
    def png(self) -> bytes:
        """The chart as PNG (150 dpi), drawn on first use and then kept."""
        return self.draw_png()

    @property
    def content_id(self) -> str:
        """The Content-ID of the PNG part (RFC 2392 'cid:' URLs need the msg-id form)."""
        return f"{self.cid}@ice-report"


def _short(label: str) -> str:
    return label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1] + "\u2026"


def _fmt(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


def _style(cid: str) -> dict[str, Any]:
    return {**_RC, "svg.hashsalt": f"ice-{cid}"}


def _png_drawer(fig: Figure, cid: str) -> Callable[[], bytes]:
    """Draw ``fig`` as PNG later, under the same style it was built with (same bytes)."""

    def draw() -> bytes:
        png_buffer = io.BytesIO()
        with matplotlib.rc_context(_style(cid)):
            fig.savefig(png_buffer, format="png", dpi=150, metadata={"Software": None})
        return png_buffer.getvalue()

    return draw


def _finish(
    fig: Figure,
    cid: str,
    title: str,
    alt: str,
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
) -> Chart:
    svg_buffer = io.StringIO()
    fig.savefig(
        svg_buffer,
        format="svg",
        metadata={"Date": None, "Creator": None, "Format": None, "Type": None},
    )
    svg = svg_buffer.getvalue()
    svg = svg[svg.index("<svg") :]  # drop the XML prolog and DOCTYPE for inline use
    # The markup has a fixed pixel size; let it scale with the page and say what it shows.
    svg = re.sub(
        r'<svg ([^>]*?)width="[^"]*" height="[^"]*"',
        r'<svg \1 role="img" class="chart" preserveAspectRatio="xMidYMid meet"',
        svg,
        count=1,
    )
    return Chart(
        cid=cid,
        title=title,
        alt=alt,
        svg=svg.strip(),
        table_headers=tuple(headers),
        table_rows=tuple(tuple(row) for row in rows),
        draw_png=_png_drawer(fig, cid),
    )


_TEXT_TO_PATH = TextToPath()
# Room (inches) tight_layout would leave: its pad (1.08 x 10 pt) plus tick marks and tick padding.
_PAD_IN = 0.15
_TICK_IN = 0.12
_LINE_IN = 0.2  # one line of 10 pt text


def _text_width_in(texts: Sequence[str], size: float = 10.0) -> float:
    """The widest of ``texts`` in inches, from the font's metrics (no drawing)."""
    font = FontProperties(family="sans-serif", size=size)
    widths = [
        _TEXT_TO_PATH.get_text_width_height_descent(text, font, ismath=False)[0] for text in texts
    ]
    return max(widths, default=0.0) / 72.0


def _fixed_layout(fig: Figure, *, left_in: float, bottom_in: float) -> None:
    """Margins computed from the labels, without drawing.

    tight_layout drew the whole figure once more to measure them: about 40% of a chart's cost
    (docs/performance.md).
    """
    width, height = fig.get_size_inches()
    fig.subplots_adjust(
        left=left_in / width,
        right=1 - (_PAD_IN + 0.1) / width,
        bottom=bottom_in / height,
        top=1 - _PAD_IN / height,
    )


def _with_style(func: Callable[P, Chart]) -> Callable[P, Chart]:
    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> Chart:
        cid = str(kwargs.get("cid", args[0] if args else "chart"))
        with matplotlib.rc_context(_style(cid)):
            return func(*args, **kwargs)

    return wrapper


def trend_chart(
    cid: str,
    title: str,
    alt: str,
    points: Sequence[tuple[str, float | None, float | None, float | None]],
    *,
    ylabel: str = "score (0-100)",
) -> Chart:
    """A line over periods with its 95% interval as a band; missing points leave a gap.

    The page gets hand-written SVG (``svg_charts``); matplotlib draws the PNG only for e-mail.
    """
    rows = [(p[0], _fmt(p[1]) or "not published", _fmt(p[2]), _fmt(p[3])) for p in points]
    return _text_chart(
        cid,
        title,
        alt,
        svg_charts.trend(cid, title, points, ylabel=ylabel),
        ("period", "score", "95% CI low", "95% CI high"),
        rows,
        lambda: _trend_figure(points, ylabel),
    )


def _text_chart(
    cid: str,
    title: str,
    alt: str,
    svg: str,
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    build: Callable[[], Figure],
) -> Chart:
    """A chart whose page markup is ready-made SVG and whose PNG matplotlib draws on demand."""

    def draw() -> bytes:
        buffer = io.BytesIO()
        with matplotlib.rc_context(_style(cid)):
            build().savefig(buffer, format="png", dpi=150, metadata={"Software": None})
        return buffer.getvalue()

    return Chart(
        cid=cid,
        title=title,
        alt=alt,
        svg=svg,
        table_headers=tuple(headers),
        table_rows=tuple(tuple(row) for row in rows),
        draw_png=draw,
    )


def _trend_figure(
    points: Sequence[tuple[str, float | None, float | None, float | None]], ylabel: str
) -> Figure:
    """The trend chart as a matplotlib figure (for the e-mail PNG)."""
    fig = Figure(figsize=(8.5, 3.0))
    ax = fig.add_subplot()
    periods = [point[0] for point in points]
    positions = np.arange(len(points))
    values = np.array([np.nan if p[1] is None else p[1] for p in points], dtype=float)
    lows = np.array([np.nan if p[2] is None else p[2] for p in points], dtype=float)
    highs = np.array([np.nan if p[3] is None else p[3] for p in points], dtype=float)
    ax.fill_between(
        positions, lows, highs, color=BLUE, alpha=0.15, linewidth=0, label="95% interval"
    )
    ax.plot(positions, values, color=BLUE, marker="o", linewidth=2, label="score")
    # Two years of monthly periods do not fit as labels; show at most about eight, always
    # including the latest, and annotate values only there (the data table lists every one).
    step = max(1, int(np.ceil(len(points) / 8)))
    labelled = set(range(len(points) - 1, -1, -step))
    for position, value in zip(positions, values, strict=True):
        if not np.isnan(value) and position in labelled:
            ax.annotate(
                f"{value:.1f}",
                (position, value),
                textcoords="offset points",
                xytext=(0, 7),
                ha="center",
                fontsize=8,
                color=INK,
            )
    ticks = sorted(labelled)
    ax.set_xticks([positions[i] for i in ticks], [periods[i] for i in ticks])
    ax.set_ylabel(ylabel)
    finite = np.concatenate(
        [values[~np.isnan(values)], lows[~np.isnan(lows)], highs[~np.isnan(highs)]]
    )
    if finite.size:
        ax.set_ylim(max(0.0, finite.min() - 5), min(100.0, finite.max() + 5))
    ax.grid(axis="y", color=LIGHT_GREY, linewidth=0.8)
    ax.set_axisbelow(True)
    _fixed_layout(
        fig,
        left_in=_PAD_IN + _LINE_IN + _TICK_IN + _text_width_in(["100"]),
        bottom_in=_PAD_IN + _TICK_IN + _LINE_IN,
    )
    return fig


def ranked_bar_chart(
    cid: str,
    title: str,
    alt: str,
    items: Sequence[tuple[str, float | None, float | None, float | None]],
    *,
    xlabel: str = "score (0-100)",
    withheld_text: str = "",
) -> Chart:
    """Horizontal bars, best on top, with 95% interval whiskers; withheld items get no bar.

    The page gets hand-written SVG (``svg_charts``); matplotlib draws the PNG only for e-mail.
    """
    published = [item for item in items if item[1] is not None]
    withheld = [item for item in items if item[1] is None]
    ordered = sorted(published, key=lambda item: (-item[1], item[0])) + withheld
    labels = [_short(item[0]) for item in ordered]
    rows = [
        (label, _fmt(value) or (withheld_text or "not published"), _fmt(low), _fmt(high))
        for label, value, low, high in ordered
    ]
    return _text_chart(
        cid,
        title,
        alt,
        svg_charts.ranked_bars(
            cid, title, ordered, labels, xlabel=xlabel, withheld_text=withheld_text
        ),
        ("name", "score", "95% CI low", "95% CI high"),
        rows,
        lambda: _bar_figure(ordered, labels, xlabel, withheld_text),
    )


def _bar_figure(
    ordered: Sequence[tuple[str, float | None, float | None, float | None]],
    labels: Sequence[str],
    xlabel: str,
    withheld_text: str,
) -> Figure:
    """The ranked bar chart as a matplotlib figure (for the e-mail PNG)."""
    fig = Figure(figsize=(8.5, 0.4 * len(ordered) + 1.0))
    ax = fig.add_subplot()
    positions = np.arange(len(ordered))[::-1]
    # One barh and one errorbar call for all bars: an artist container per bar made these pages
    # the slowest part of a period's run (docs/performance.md).
    bars = [
        (pos, item) for pos, item in zip(positions, ordered, strict=True) if item[1] is not None
    ]
    if bars:
        ax.barh([pos for pos, _ in bars], [item[1] for _, item in bars], color=BLUE, height=0.6)
    whiskers = [(pos, item) for pos, item in bars if item[2] is not None and item[3] is not None]
    if whiskers:
        ax.errorbar(
            [item[1] for _, item in whiskers],
            [pos for pos, _ in whiskers],
            xerr=[
                [item[1] - item[2] for _, item in whiskers],
                [item[3] - item[1] for _, item in whiskers],
            ],
            fmt="none",
            ecolor=INK,
            elinewidth=1.2,
            capsize=3,
        )
    for position, (_label, value, _low, _high) in zip(positions, ordered, strict=True):
        if value is None:
            ax.text(
                1,
                position,
                withheld_text or "not published",
                va="center",
                fontsize=8,
                color="#52606d",
                style="italic",
            )
            continue
        ax.text(
            1.5,
            position,
            f"{value:.1f}",
            va="center",
            ha="left",
            fontsize=8,
            color="white",
            fontweight="bold",
        )
    ax.set_yticks(positions, labels)
    ax.set_ylim(-0.6, len(ordered) - 0.4)
    ax.set_xlim(0, 100)
    ax.set_xlabel(xlabel)
    ax.grid(axis="x", color=LIGHT_GREY, linewidth=0.8)
    ax.set_axisbelow(True)
    _fixed_layout(
        fig,
        left_in=_PAD_IN + _TICK_IN + _text_width_in(labels),
        bottom_in=_PAD_IN + _TICK_IN + 2 * _LINE_IN,
    )
    return fig


@_with_style
def scatter_chart(
    cid: str,
    title: str,
    alt: str,
    points: Sequence[tuple[str, float, float]],
    *,
    xlabel: str,
    ylabel: str,
) -> Chart:
    """Labelled points, e.g. each provider's ICE-P against its ICE-K, with the diagonal."""
    fig = Figure(figsize=(8.5, 4.2))
    ax = fig.add_subplot()
    ax.plot([0, 100], [0, 100], color=GREY, linewidth=1, linestyle="--")
    for label, x_value, y_value in points:
        ax.scatter(
            [x_value], [y_value], color=ORANGE, s=40, zorder=3, edgecolors=INK, linewidths=0.5
        )
        ax.annotate(
            _short(label),
            (x_value, y_value),
            textcoords="offset points",
            xytext=(6, 4),
            fontsize=8,
            color=INK,
        )
    values = [value for point in points for value in point[1:]]
    low = max(0.0, min(values) - 10) if values else 0.0
    high = min(100.0, max(values) + 10) if values else 100.0
    ax.set_xlim(low, high)
    ax.set_ylim(low, high)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(color=LIGHT_GREY, linewidth=0.8)
    ax.set_axisbelow(True)
    fig.tight_layout()
    rows = [(label, f"{x_value:.1f}", f"{y_value:.1f}") for label, x_value, y_value in points]
    return _finish(fig, cid, title, alt, ("name", xlabel, ylabel), rows)


def quadrant_chart(
    cid: str,
    title: str,
    alt: str,
    points: Sequence[tuple[str, float, float, float | None, float | None]],
    *,
    equal_share: float,
) -> Chart:
    """The importance-vs-performance quadrant of one group's key drivers.

    ``points``: (label, score minus the median provider's, importance %, its 95% low, high).
    The page gets hand-written SVG (``svg_charts.quadrant``); the PNG is drawn only if mailed.
    """
    rows = [
        (label, f"{gap:+.1f}", f"{share:.1f}%", _fmt(low), _fmt(high))
        for label, gap, share, low, high in points
    ]

    def build() -> Figure:
        fig = Figure(figsize=(5.5, 4.2))
        ax = fig.add_subplot()
        ax.axvline(0, color=GREY, linewidth=1, linestyle="--")
        ax.axhline(equal_share, color=GREY, linewidth=1, linestyle="--")
        for label, gap, share, _, _ in points:
            ax.scatter([gap], [share], color=BLUE, s=40, zorder=3, edgecolors=INK)
            ax.annotate(_short(label), (gap, share), textcoords="offset points", xytext=(6, 4))
        ax.set_xlabel("points below (-) or above (+) the median provider")
        ax.set_ylabel("share of what explains satisfaction (%)")
        fig.tight_layout()
        return fig

    return _text_chart(
        cid,
        title,
        alt,
        svg_charts.quadrant(cid, title, points, equal_share=equal_share),
        ("dimension", "against the median provider", "share", "95% CI low", "95% CI high"),
        rows,
        build,
    )
