"""Rendering view-models to HTML (archive and email variants) and plain text, with one Jinja setup.

Templates live in ``report_templates/`` (``ice_pipeline.paths.templates_dir()``) and receive only a
view-model from ``ice_pipeline.reports.viewmodel`` plus ``for_email``. HTML templates autoescape;
the text templates do not, but every printed value passes :func:`neutralise_formula`, so text that
starts like a spreadsheet formula (``=``, ``+``, ``-``, ``@``) is prefixed with a single quote.
Both environments use ``StrictUndefined``: a misspelt field fails the render instead of
printing nothing. The output holds no clock time, so the same view gives the same bytes.
"""

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from html import escape
from html.parser import HTMLParser
from typing import Any

import css_inline
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from ice_pipeline.paths import templates_dir
from ice_pipeline.reports.charts import Chart
from ice_pipeline.reports.viewmodel import ExecutiveView, ProviderView
from ice_pipeline.reports.views_correlations import CorrelationsView
from ice_pipeline.reports.views_methodology import MethodologyView

EXECUTIVE_KIND = "executive_summary"
METHODOLOGY_KIND = "methodology"
CORRELATIONS_KIND = "correlations"
PROVIDER_KIND_PREFIX = "provider:"
KIND_MAX_CHARS = 64

# Spreadsheet applications execute cells starting with these; a leading number such as "+2.5"
# or "-0.41" is data, not a formula, and is left alone.
_FORMULA_START = re.compile(r"^[=+\-@\t\r]")
_SIGNED_NUMBER = re.compile(r"^[+-]\d")


def provider_kind(provider: str) -> str:
    """The archive kind of a provider page: 'provider:<department>', at most 64 characters.

    ``report_archive.kind`` is VARCHAR(64); a longer department name keeps a prefix and a short
    hash of the full name, so distinct departments never share a kind.
    """
    kind = f"{PROVIDER_KIND_PREFIX}{provider}"
    if len(kind) <= KIND_MAX_CHARS:
        return kind
    digest = hashlib.sha256(provider.encode("utf-8")).hexdigest()[:8]
    return kind[: KIND_MAX_CHARS - 9] + "~" + digest


def neutralise_formula(value: Any) -> Any:
    """Prefix text that a spreadsheet would run as a formula with a single quote."""
    if isinstance(value, str) and _FORMULA_START.match(value) and not _SIGNED_NUMBER.match(value):
        return "'" + value
    return value


@lru_cache(maxsize=1)
def html_environment() -> Environment:
    """The one Jinja environment for HTML: autoescaped, strict, loading report_templates/."""
    return Environment(
        loader=FileSystemLoader(str(templates_dir())),
        autoescape=True,
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )


@lru_cache(maxsize=1)
def text_environment() -> Environment:
    """The environment of the plain-text email parts: no HTML escaping, formulas neutralised."""
    return Environment(
        loader=FileSystemLoader(str(templates_dir())),
        autoescape=False,  # noqa: S701 - renders text/plain only; values pass neutralise_formula
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        finalize=neutralise_formula,
    )


@dataclass(frozen=True)
class RenderedReport:
    """One report in every form it is kept or sent in."""

    kind: str  # 'executive_summary' | 'methodology' | 'correlations' | 'provider:<department>'
    audience: str
    period: str
    subject: str
    html: str  # archived: charts as inline SVG
    text: str  # text/plain alternative
    charts: tuple[Chart, ...] = field(repr=False, compare=False)
    # Renders the mail-safe HTML; most pages are archived but never e-mailed, and inlining the
    # CSS and re-escaping every attribute cost about as much as the rest of the page together.
    render_email: Callable[[], str] = field(repr=False, compare=False)

    @cached_property
    def email_html(self) -> str:
        """Mail-safe: CSS inlined, charts as cid: images, no SVG, no script (made on first use)."""
        return self.render_email()

    @cached_property
    def images(self) -> dict[str, bytes]:
        """Content-ID -> PNG of the charts the email references (no orphan parts travel).

        Drawn on first use: only reports that are actually emailed pay for their PNGs.
        """
        return {
            chart.content_id: chart.png
            for chart in self.charts
            if f"cid:{chart.content_id}" in self.email_html
        }


ReportView = ExecutiveView | ProviderView | MethodologyView | CorrelationsView


def _template_stem(view: ReportView) -> str:
    if isinstance(view, ExecutiveView):
        return "executive_summary"
    if isinstance(view, MethodologyView):
        return "methodology_page"
    if isinstance(view, CorrelationsView):
        return "correlations_page"
    return "provider"


def render_html(view: ReportView, *, for_email: bool = False) -> str:
    template = f"{_template_stem(view)}.html.j2"
    return html_environment().get_template(template).render(view=view, for_email=for_email)


def render_text(view: ReportView) -> str:
    template = f"{_template_stem(view)}.txt.j2"
    text = text_environment().get_template(template).render(view=view)
    return re.sub(r"\n{3,}", "\n\n", text)


class _AttributeEscaper(HTMLParser):
    """Re-serialise HTML with every attribute value escaped (``& < > " '``), all else verbatim.

    css_inline re-serialises the document as HTML5 does, which escapes only ``&`` and ``"`` in
    attribute values: an ``alt`` holding a department named ``R&D <script> team`` came out as a
    literal ``<script>``. Text, comments and raw-text elements are copied exactly as found.
    """

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.parts: list[str] = []

    def _tag(self, tag: str, attrs: list[tuple[str, str | None]], end: str) -> None:
        rendered = "".join(
            f" {name}" if value is None else f' {name}="{escape(value, quote=True)}"'
            for name, value in attrs
        )
        self.parts.append(f"<{tag}{rendered}{end}")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._tag(tag, attrs, ">")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._tag(tag, attrs, " />")

    def handle_endtag(self, tag: str) -> None:
        self.parts.append(f"</{tag}>")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)

    def handle_entityref(self, name: str) -> None:
        self.parts.append(f"&{name};")

    def handle_charref(self, name: str) -> None:
        self.parts.append(f"&#{name};")

    def handle_comment(self, data: str) -> None:
        self.parts.append(f"<!--{data}-->")

    def handle_decl(self, decl: str) -> None:
        self.parts.append(f"<!{decl}>")

    def handle_pi(self, data: str) -> None:
        self.parts.append(f"<?{data}>")

    def unknown_decl(self, data: str) -> None:
        self.parts.append(f"<![{data}]>")


def escape_attributes(html: str) -> str:
    """``html`` with every attribute value fully escaped (see :class:`_AttributeEscaper`)."""
    escaper = _AttributeEscaper()
    escaper.feed(html)
    escaper.close()
    return "".join(escaper.parts)


def mail_safe_html(html: str) -> str:
    """Inline the CSS (mail clients drop <style>) and refuse markup mail clients must not get.

    Names are data: after inlining every attribute is escaped again, so a provider, department
    or dimension name holding ``<script>`` or ``<svg`` renders as text instead of tripping the
    guard below, which then only ever sees real elements.
    """
    # @media rules cannot be inlined; keeping them lets phones stack the headline tiles.
    inlined = escape_attributes(css_inline.inline(html, keep_at_rules=True))
    lowered = inlined.lower()
    if "<svg" in lowered or "<script" in lowered:
        raise ValueError("email HTML must contain neither <svg> nor <script>")
    return inlined


def _one_line(text: str) -> str:
    """Header-safe: no CR/LF (header injection) and no runs of whitespace."""
    return " ".join(text.split())


def render_report(view: ReportView, *, audience: str) -> RenderedReport:
    """Render a view-model to the archived HTML and the text part.

    The mail-safe HTML and the PNGs are made when first asked for: only e-mailed reports need them.
    """
    if isinstance(view, ExecutiveView):
        kind = EXECUTIVE_KIND
        subject = f"Internal Customer Index {view.period}: executive summary"
    elif isinstance(view, MethodologyView):
        kind = METHODOLOGY_KIND
        subject = f"Internal Customer Index {view.period}: how the figures are made"
    elif isinstance(view, CorrelationsView):
        kind = CORRELATIONS_KIND
        subject = f"Internal Customer Index {view.period}: every relationship examined"
    else:
        kind = provider_kind(view.provider)
        subject = f"Internal Customer Index {view.period}: {view.provider}"
    return RenderedReport(
        kind=kind,
        audience=audience,
        period=view.period,
        subject=_one_line(subject),
        html=render_html(view),
        text=render_text(view),
        charts=tuple(view.charts.values()),
        render_email=lambda: mail_safe_html(render_html(view, for_email=True)),
    )
