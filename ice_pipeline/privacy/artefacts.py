"""Figures read back out of rendered reports and e-mails, as a reader (or an attacker) sees them.

What belongs here: extracting every figure a report's HTML shows together with its respondent
count (:func:`figures_in_html`) and from the text of a PDF (:func:`figures_in_pdf`), reading the
HTML part and the PDF attachments of an ``.eml`` file (:func:`read_eml`),
and the two checks that need only what was shown: a figure resting on fewer than k respondents
(:func:`small_group_findings`) and two versions of one report whose counts differ by 1 to k-1
(:func:`version_findings`). The auditor (:mod:`ice_pipeline.privacy.audit`) applies them.

The reader knows the report layout only through its conventions, not through the view-model, so
it audits any rendering: a figure is a number in a table cell (or a tile, or a list item)
together with its ``n``, written in the same cell ("77.7 (95% CI ...; n = 42)", "80.7 n = 21")
or in the row's ``n`` column. A figure is keyed by its section heading, table, row and column,
so the same figure can be found in two versions of a report. ``n = 96 pairs`` (correlations)
counts pairs of periods, not respondents, and is not read as a figure.

A PDF has no cells: its text (extracted with pypdf) is one stream in which a table row or a tile
may break over lines. Every ``n = <count>`` in it is a figure: the last number written before
it, once intervals ("95% CI a to b") are set aside, keyed by the words in front of that number.
A PDF's figures written only in an ``n`` column are not attributed; the PDF is printed from
the archived HTML, whose reading above attributes them.
"""

import functools
import io
import math
import re
from dataclasses import dataclass, field
from email import policy
from email.parser import BytesParser
from html.parser import HTMLParser
from pathlib import Path

_N = re.compile(r"(?<![A-Za-z])n = (\d+)(?![\d]| pairs)")
_LEADING_NUMBER = re.compile(r"^\s*([+-]?\d+(?:\.\d+)?)")
_BLOCK_TAGS = {"p", "li", "div"}
_NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?")
_INTERVAL = re.compile(r"95% CI [+-]?\d+(?:\.\d+)? to [+-]?\d+(?:\.\d+)?")
_LABEL_WORDS = 6
_HEADINGS = {"h1", "h2", "h3"}


@dataclass(frozen=True)
class ShownFigure:
    """One number a report shows, with the respondent count it rests on."""

    value: float
    n: int


@dataclass
class _Table:
    header: list[str] | None = None
    row: list[str] | None = None
    row_is_header: bool = False
    layout: bool = False  # role="presentation": its cells are page layout, not data


class _FigureReader(HTMLParser):
    """Collects figures from tables, tiles and text blocks; ignores scripts, styles and SVG."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.figures: dict[str, ShownFigure] = {}
        self.section = ""
        self._heading: list[str] | None = None
        self._tables: list[_Table] = []
        self._cells: list[list[str]] = []  # open cells, innermost last
        self._blocks: list[list[str]] = []  # open p/li/div outside cells
        self._tile: list[str] | None = None
        self._skip = 0
        self._layout_cells = 0

    # Parsing -----------------------------------------------------------------------------------
    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        classes = (attributes.get("class") or "").split()
        layout_cell = (
            tag in ("td", "th")
            and self._tables
            and self._tables[-1].layout
            and "tile" not in classes
        )
        if layout_cell:
            self._layout_cells += 1
            return
        if tag in ("script", "style", "svg"):
            self._skip += 1
        elif tag == "br":
            self.handle_data(" ")
        elif tag in _HEADINGS:
            self._heading = []
        elif tag == "table":
            self._tables.append(_Table(layout=attributes.get("role") == "presentation"))
        elif tag == "tr" and self._tables:
            self._tables[-1].row, self._tables[-1].row_is_header = [], False
        elif tag in ("td", "th"):
            self._cells.append([])
            if tag == "th" and self._tables:
                self._tables[-1].row_is_header = True
            if "tile" in classes:
                self._tile = []
        elif tag in _BLOCK_TAGS:
            if self._cells:
                self._cells[-1].append(" | ")  # tiles: label | value | detail
            else:
                self._blocks.append([])

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._tables and self._tables[-1].layout and not self._cells:
            self._layout_cells = max(0, self._layout_cells - 1)
            return
        if tag in ("script", "style", "svg"):
            self._skip = max(0, self._skip - 1)
        elif tag in _HEADINGS and self._heading is not None:
            self.section = " ".join("".join(self._heading).split())
            self._heading = None
        elif tag == "table" and self._tables:
            self._tables.pop()
        elif tag == "tr" and self._tables:
            self._end_row(self._tables[-1])
        elif tag in ("td", "th") and self._cells:
            text = "".join(self._cells.pop())
            if self._tile is not None:
                self._add_tile(text)
                self._tile = None
            elif self._tables and self._tables[-1].row is not None:
                self._tables[-1].row.append(" ".join(text.replace(" | ", " ").split()))
        elif tag in _BLOCK_TAGS and not self._cells and self._blocks:
            self._add_block(" ".join("".join(self._blocks.pop()).split()))

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        if self._heading is not None:
            self._heading.append(data)
        if self._cells:
            self._cells[-1].append(data)
        elif self._blocks:
            self._blocks[-1].append(data)

    # Figures -----------------------------------------------------------------------------------
    def _add(self, key: str, text: str, n: int) -> None:
        match = _LEADING_NUMBER.match(text)
        if match:
            self.figures.setdefault(key, ShownFigure(float(match.group(1)), n))

    def _add_tile(self, text: str) -> None:
        parts = [" ".join(p.split()) for p in text.split(" | ") if p.strip()]
        count = _N.search(text)
        if len(parts) >= 2 and count:
            self._add(f"{self.section} | tile | {parts[0]}", parts[1], int(count.group(1)))

    def _add_block(self, text: str) -> None:
        count = _N.search(text)
        number = re.search(r"[+-]?\d+(?:\.\d+)?", text)
        if count and number and number.start() < count.start():
            label = text[: number.start()].strip()
            self._add(
                f"{self.section} | text | {label}", text[number.start() :], int(count.group(1))
            )

    def _end_row(self, table: _Table) -> None:
        row, table.row = table.row or [], None
        if not row:
            return
        if table.row_is_header:
            table.header = row
            return
        header = table.header or [""] * len(row)
        label_at = next((i for i, cell in enumerate(row) if cell and not _is_number(cell)), None)
        if label_at is None:
            return
        n_column = header.index("n") if "n" in header else None
        row_n = None
        if n_column is not None and n_column < len(row) and row[n_column].isdigit():
            row_n = int(row[n_column])
        for column, cell in enumerate(row):
            if column in (label_at, n_column) or not cell:
                continue
            name = header[column] if column < len(header) else str(column)
            key = f"{self.section} | {header[0] if header else ''} | {row[label_at]} | {name}"
            count = _N.search(cell)
            if count:
                self._add(key, cell, int(count.group(1)))
            elif row_n is not None and not cell.startswith("95%"):
                self._add(key, cell, row_n)


def _is_number(text: str) -> bool:
    return bool(re.fullmatch(r"[+-]?\d+(?:\.\d+)?", text.strip()))


def figures_in_html(html: str) -> dict[str, ShownFigure]:
    """Every figure shown with its n: key (section | table | row | column) -> figure."""
    return dict(_html_figures(html))


@functools.lru_cache(maxsize=64)
def _html_figures(html: str) -> tuple[tuple[str, ShownFigure], ...]:
    """Memoised on the text (a pure function of it): ``report_delivery`` audits the period again
    right after ``disclosure_audit`` did, and parsing a page costs ~40 ms (a provider page with
    thousands of comments); a period's pages and e-mails are far fewer than the cache holds.
    """
    reader = _FigureReader()
    reader.feed(html)
    reader.close()
    return tuple(reader.figures.items())


@functools.lru_cache(maxsize=64)
def pdf_text(pdf: bytes) -> str:
    """The text of every page of a PDF, whitespace collapsed (pypdf's extraction).

    Memoised on the bytes (a pure function of them): the audit reads the same summary PDF from
    the archive, from the file beside it and from each e-mail it was attached to, before and
    after delivery; pypdf's extraction costs ~0.3-1 s per read.
    """
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(pdf))
    return " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)


def figures_in_text(text: str) -> dict[str, ShownFigure]:
    """Every ``n = <count>`` of flat text with the figure written before it (see module doc)."""
    flat = _INTERVAL.sub(" ", " ".join(text.split()))
    figures: dict[str, ShownFigure] = {}
    start, label = 0, "(no label)"
    for count in _N.finditer(flat):
        before = flat[start : count.start()]
        numbers = list(_NUMBER.finditer(before))
        value = float(numbers[-1].group(0)) if numbers else math.nan
        head = before[: numbers[-1].start()] if numbers else before
        # Words only (numbers change between versions); a figure with none in front of it (the
        # next cell of a matrix row) is keyed by the label of the row it continues.
        words = [w for w in re.sub(r"[^\w&'’ -]+", " ", head).split() if not _NUMBER.search(w)]
        label = " ".join(words[-_LABEL_WORDS:]) or label
        key, repeat = f"pdf | {label}", 1
        while key in figures:  # the same words in front of several figures: numbered in order
            repeat += 1
            key = f"pdf | {label} #{repeat}"
        figures[key] = ShownFigure(value, int(count.group(1)))
        start = count.end()
    return figures


def figures_in_pdf(pdf: bytes) -> dict[str, ShownFigure]:
    """Every figure a PDF shows with its n = count (read as a reader copies its text)."""
    return figures_in_text(pdf_text(pdf))


@dataclass(frozen=True)
class Email:
    """One e-mail as delivered: who got it, which report version, its HTML and its PDFs."""

    path: Path
    recipient: str
    period: str
    report: str  # the report's file stem without the version ("executive_summary")
    version: int | None
    html: str
    pdfs: tuple[bytes, ...] = field(default=(), repr=False)  # attached application/pdf parts


def read_eml(path: Path) -> Email:
    """The HTML part and the report headers of an ``.eml`` file written by the outbox."""
    with path.open("rb") as stream:
        message = BytesParser(policy=policy.default).parse(stream)
    body = message.get_body(preferencelist=("html",))
    html = body.get_content() if body is not None else ""
    # Every PDF part, whatever its disposition or name: a reader opens all of them.
    pdfs = tuple(
        part.get_payload(decode=True) or b""
        for part in message.walk()
        if part.get_content_type() == "application/pdf"
    )
    recipient = str(message.get("To", ""))
    # Internal X-ICE-* headers never leave (issue 12), so the report and its version come from the
    # outbox's own naming: <outbox>/<period>/<report stem>-v<version>-<recipient stem>.eml.
    stem = str(message.get("X-ICE-File-Stem", "") or "") or _stem_from_path(path, recipient)
    match = re.fullmatch(r"(.*)-v(\d+)", stem)
    return Email(
        path=path,
        recipient=recipient,
        period=str(message.get("X-ICE-Period", "") or path.parent.name),
        report=match.group(1) if match else stem or path.stem,
        version=int(match.group(2)) if match else None,
        html=html,
        pdfs=pdfs,
    )


def _stem_from_path(path: Path, recipient: str) -> str:
    """The report stem of an outbox file name (``<stem>-<recipient stem>.eml``)."""
    from ice_pipeline.reports.archive import _file_stem

    suffix = f"-{_file_stem(recipient)}"
    name = path.stem
    return name[: -len(suffix)] if recipient and name.endswith(suffix) else name


def small_group_findings(source: str, figures: dict[str, ShownFigure], k: int) -> list[str]:
    """A figure shown from fewer than k respondents."""
    return [
        f"{source}: {key} shows {figure.value:g} from n = {figure.n} (under k = {k})"
        for key, figure in sorted(figures.items())
        if figure.n < k
    ]


def version_findings(
    source: str,
    earlier: dict[str, ShownFigure],
    later: dict[str, ShownFigure],
    k: int,
) -> list[str]:
    """Figures of two versions of one report whose n differ by 1 to k-1 (subtractable)."""
    problems = []
    for key in sorted(earlier.keys() & later.keys()):
        old, new = earlier[key], later[key]
        moved = abs(new.n - old.n)
        if 0 < moved < k:
            problems.append(
                f"{source}: {key} n {old.n} -> {new.n} ({old.value:g} -> {new.value:g}); the "
                f"{moved} respondent(s) in between can be worked out by subtraction "
                f"(under k = {k})"
            )
    return problems
