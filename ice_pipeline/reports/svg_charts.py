"""The two commonest report charts written directly as SVG text (no matplotlib on the page path).

Belongs here: the markup of the ranked bar chart and the trend chart as the archived pages show
them. Why hand-written: a matplotlib chart cost 130-420 ms to build and serialise, a provider page
has three, and a period's pages were ~42% of the demo's run time; this text costs well under a
millisecond per chart. The PNG for e-mail is still drawn by matplotlib (``charts.py``), only when
a report is actually sent. Every label passes ``html.escape``; output is deterministic.
"""

import math
from collections.abc import Sequence
from html import escape

BLUE = "#0072B2"
INK = "#1f2933"
MUTED = "#52606d"
GRID = "#e4e7eb"
AXIS = "#9aa5b1"
FONT = 'font-family="DejaVu Sans, Arial, sans-serif"'
WIDTH = 816  # 8.5 in at 96 px/in, the width the matplotlib charts had
CHAR_PX = 6.6  # average advance of an 11 px sans-serif character (labels are cut at 28)

Item = tuple[str, float | None, float | None, float | None]


def _open(cid: str, height: float, title: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height:.0f}" '
        f'role="img" class="chart" preserveAspectRatio="xMidYMid meet" id="{escape(cid)}" '
        f'{FONT} font-size="11"><title>{escape(title)}</title>'
    )


def _f(value: float) -> str:
    return f"{value:.1f}"


def ranked_bars(
    cid: str,
    title: str,
    ordered: Sequence[Item],
    labels: Sequence[str],
    *,
    xlabel: str,
    withheld_text: str,
) -> str:
    """Horizontal bars (0-100), in the given order, with 95% whiskers; withheld rows say so."""
    row = 28.0
    top, bottom = 8.0, 44.0
    left = min(300.0, max(60.0, CHAR_PX * max((len(label) for label in labels), default=4) + 16))
    right = WIDTH - 24.0
    height = top + row * max(len(ordered), 1) + bottom

    def x(value: float) -> float:
        return left + (right - left) * max(0.0, min(100.0, value)) / 100.0

    parts = [_open(cid, height, title)]
    plot_bottom = top + row * len(ordered)
    for tick in range(0, 101, 20):
        parts.append(
            f'<path d="M{_f(x(tick))} {_f(top)}V{_f(plot_bottom)}" stroke="{GRID}"/>'
            f'<text x="{_f(x(tick))}" y="{_f(plot_bottom + 16)}" text-anchor="middle" '
            f'fill="{INK}">{tick}</text>'
        )
    parts.append(
        f'<path d="M{_f(left)} {_f(top)}V{_f(plot_bottom)}H{_f(right)}" stroke="{AXIS}" '
        'fill="none"/>'
        f'<text x="{_f((left + right) / 2)}" y="{_f(plot_bottom + 34)}" text-anchor="middle" '
        f'fill="{INK}">{escape(xlabel)}</text>'
    )
    for index, ((_, value, low, high), label) in enumerate(zip(ordered, labels, strict=True)):
        middle = top + row * index + row / 2
        parts.append(
            f'<text x="{_f(left - 8)}" y="{_f(middle + 4)}" text-anchor="end" '
            f'fill="{INK}">{escape(label)}</text>'
        )
        if value is None:
            parts.append(
                f'<text x="{_f(left + 6)}" y="{_f(middle + 4)}" font-style="italic" '
                f'font-size="10" fill="{MUTED}">{escape(withheld_text or "not published")}</text>'
            )
            continue
        parts.append(
            f'<path d="M{_f(left)} {_f(middle - 8.5)}H{_f(x(value))}V{_f(middle + 8.5)}'
            f'H{_f(left)}Z" fill="{BLUE}"/>'
        )
        if low is not None and high is not None:
            parts.append(
                f'<path d="M{_f(x(low))} {_f(middle)}H{_f(x(high))}'
                f"M{_f(x(low))} {_f(middle - 4)}V{_f(middle + 4)}"
                f'M{_f(x(high))} {_f(middle - 4)}V{_f(middle + 4)}" stroke="{INK}" '
                'stroke-width="1.2" fill="none"/>'
            )
        parts.append(
            f'<text x="{_f(left + 5)}" y="{_f(middle + 4)}" font-size="10" font-weight="bold" '
            f'fill="#ffffff">{value:.1f}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _nice_step(span: float) -> float:
    for step in (1, 2, 5, 10, 20, 25, 50):
        if span / step <= 6:
            return float(step)
    return 100.0


def trend(cid: str, title: str, points: Sequence[Item], *, ylabel: str) -> str:
    """A line over periods with its 95% band; gaps where a point is not published."""
    height = 288.0
    left, right, top, bottom = 64.0, WIDTH - 20.0, 14.0, height - 30.0
    values = [p[1] for p in points]
    finite = [v for p in points for v in p[1:] if v is not None]
    low_y = max(0.0, min(finite) - 5) if finite else 0.0
    high_y = min(100.0, max(finite) + 5) if finite else 100.0
    if high_y <= low_y:
        high_y = low_y + 1.0
    count = max(len(points), 1)

    def x(index: int) -> float:
        return left + (right - left) * (index + 0.5) / count

    def y(value: float) -> float:
        return bottom - (bottom - top) * (value - low_y) / (high_y - low_y)

    parts = [_open(cid, height, title)]
    step = _nice_step(high_y - low_y)
    tick = math.ceil(low_y / step) * step
    while tick <= high_y + 1e-9:
        parts.append(
            f'<path d="M{_f(left)} {_f(y(tick))}H{_f(right)}" stroke="{GRID}"/>'
            f'<text x="{_f(left - 8)}" y="{_f(y(tick) + 4)}" text-anchor="end" '
            f'fill="{INK}">{tick:g}</text>'
        )
        tick += step
    parts.append(
        f'<path d="M{_f(left)} {_f(top)}V{_f(bottom)}H{_f(right)}" stroke="{AXIS}" fill="none"/>'
        f'<text transform="translate(16 {_f((top + bottom) / 2)}) rotate(-90)" '
        f'text-anchor="middle" fill="{INK}">{escape(ylabel)}</text>'
    )
    # Runs of consecutive published points: one band and one line each.
    runs: list[list[int]] = []
    for index, value in enumerate(values):
        if value is None:
            continue
        if runs and runs[-1][-1] == index - 1:
            runs[-1].append(index)
        else:
            runs.append([index])
    for run in runs:
        banded = [i for i in run if points[i][2] is not None and points[i][3] is not None]
        if len(banded) == len(run) and len(run) > 1:
            upper = "L".join(f"{_f(x(i))} {_f(y(points[i][3]))}" for i in run)
            lower = "L".join(f"{_f(x(i))} {_f(y(points[i][2]))}" for i in reversed(run))
            parts.append(f'<path d="M{upper}L{lower}Z" fill="{BLUE}" fill-opacity="0.15"/>')
        if len(run) > 1:
            line = "L".join(f"{_f(x(i))} {_f(y(values[i]))}" for i in run)
            parts.append(f'<path d="M{line}" stroke="{BLUE}" stroke-width="2" fill="none"/>')
        for i in run:
            parts.append(
                f'<path d="M{_f(x(i) - 3.5)} {_f(y(values[i]))}a3.5 3.5 0 1 0 7 0'
                f'a3.5 3.5 0 1 0 -7 0Z" fill="{BLUE}"/>'
            )
    shown = set(range(len(points) - 1, -1, -max(1, math.ceil(len(points) / 8))))
    for index in sorted(shown):
        parts.append(
            f'<text x="{_f(x(index))}" y="{_f(bottom + 18)}" text-anchor="middle" '
            f'fill="{INK}">{escape(points[index][0])}</text>'
        )
        if values[index] is not None:
            parts.append(
                f'<text x="{_f(x(index))}" y="{_f(y(values[index]) - 9)}" text-anchor="middle" '
                f'font-size="9" fill="{INK}">{values[index]:.1f}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


# The quadrant is drawn narrow (a 440-unit viewBox, shown at most 560 px wide) so that its 12-unit
# labels are still ~9.5 px on a 375 px phone, where the 816-unit charts shrink text to ~5 px.
QUADRANT_WIDTH = 440.0
QuadrantPoint = tuple[str, float, float, float | None, float | None]  # label, gap, share, lo, hi


def _round_up(value: float, step: float) -> float:
    return step * math.ceil(value / step)


def quadrant(cid: str, title: str, points: Sequence[QuadrantPoint], *, equal_share: float) -> str:
    """Importance (y, % of explained variance, with its interval) against performance (x,
    points above or below the median provider), split at the median and at an equal share.
    """
    left, right, top, bottom = 50.0, QUADRANT_WIDTH - 14.0, 26.0, 292.0
    height = bottom + 44.0
    spread = max([abs(gap) for _, gap, _, _, _ in points] + [4.0])
    x_max = _round_up(spread + 1.0, 5.0)
    tops = [share for _, _, share, _, _ in points] + [
        high for *_, high in points if high is not None
    ]
    y_max = min(100.0, _round_up(max(tops + [2 * equal_share]) + 2.0, 10.0))

    def x(gap: float) -> float:
        return left + (right - left) * (gap + x_max) / (2 * x_max)

    def y(share: float) -> float:
        return bottom - (bottom - top) * max(0.0, min(y_max, share)) / y_max

    parts = [
        _open(cid, height, title)
        .replace(f'viewBox="0 0 {WIDTH} ', f'viewBox="0 0 {QUADRANT_WIDTH:.0f} ')
        .replace('font-size="11"', 'font-size="12" style="max-width:560px"')
    ]
    for tick in (-x_max, -x_max / 2, 0.0, x_max / 2, x_max):
        parts.append(
            f'<text x="{_f(x(tick))}" y="{_f(bottom + 16)}" text-anchor="middle" '
            f'fill="{INK}">{tick:+.0f}</text>'.replace(">+0<", ">0<")
        )
    for tick in range(0, int(y_max) + 1, int(_nice_step(y_max))):
        parts.append(
            f'<path d="M{_f(left)} {_f(y(tick))}H{_f(right)}" stroke="{GRID}"/>'
            f'<text x="{_f(left - 6)}" y="{_f(y(tick) + 4)}" text-anchor="end" '
            f'fill="{INK}">{tick}</text>'
        )
    parts.append(
        f'<path d="M{_f(x(0))} {_f(top)}V{_f(bottom)}M{_f(left)} {_f(y(equal_share))}'
        f'H{_f(right)}" stroke="{AXIS}" stroke-dasharray="4 3" fill="none"/>'
        f'<path d="M{_f(left)} {_f(top)}V{_f(bottom)}H{_f(right)}" stroke="{AXIS}" fill="none"/>'
        f'<text x="{_f((left + right) / 2)}" y="{_f(bottom + 34)}" text-anchor="middle" '
        f'fill="{INK}">points below (-) or above (+) the median provider</text>'
        f'<text transform="translate(14 {_f((top + bottom) / 2)}) rotate(-90)" '
        f'text-anchor="middle" fill="{INK}">share of what explains satisfaction (%)</text>'
    )
    corners = (
        (left + 6, top - 8, "start", "Focus", "#b44b00"),
        (right - 6, top - 8, "end", "Strength", BLUE),
        (left + 6, bottom - 6, "start", "Lower priority", MUTED),
        (right - 6, bottom - 6, "end", "Maintain", MUTED),
    )
    for cx, cy, anchor, word, colour in corners:
        parts.append(
            f'<text x="{_f(cx)}" y="{_f(cy)}" text-anchor="{anchor}" font-weight="bold" '
            f'fill="{colour}">{word}</text>'
        )
    placed: list[tuple[float, float]] = []
    for label, gap, share, low, high in points:
        px, py = x(gap), y(share)
        if low is not None and high is not None:
            parts.append(
                f'<path d="M{_f(px)} {_f(y(low))}V{_f(y(high))}" stroke="{MUTED}" '
                'stroke-width="1.2"/>'
            )
        # Labels point inwards, so a point near an edge keeps its label inside the chart; a
        # label that would sit on an earlier one moves a line down.
        anchor, dx = ("start", 8) if gap <= 0 else ("end", -8)
        label_y = py - 6
        while any(abs(px - ox) < 90 and abs(label_y - oy) < 13 for ox, oy in placed):
            label_y += 13
        placed.append((px, label_y))
        parts.append(
            f'<circle cx="{_f(px)}" cy="{_f(py)}" r="5" fill="{BLUE}" stroke="{INK}" '
            f'stroke-width="0.6"/><text x="{_f(px + dx)}" y="{_f(label_y)}" '
            f'text-anchor="{anchor}" fill="{INK}">{escape(label[:24])}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
