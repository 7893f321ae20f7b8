"""View-models, templates and charts: honest numbers, privacy, escaping and byte-stable output."""

import hashlib
import re
import subprocess
import sys
from email import policy
from email.parser import BytesParser

import pandas as pd
import pytest

from ice_pipeline.errors import ConfigError
from ice_pipeline.reports import charts
from ice_pipeline.reports.config import ReportConfig
from ice_pipeline.reports.delivery import build_message
from ice_pipeline.reports.render import neutralise_formula, render_report
from ice_pipeline.reports.sample import (
    HOSTILE_COMMENT,
    HOSTILE_CONSUMER,
    HOSTILE_DIMENSION,
    HOSTILE_PROVIDER,
    sample_comments,
    sample_quality,
    sample_tables,
)
from ice_pipeline.reports.viewmodel import build_executive_view, build_provider_view

PERIOD = "2026-10"
CONFIG = ReportConfig()


@pytest.fixture(scope="module")
def plain():
    """The sample tables, their executive view and its rendering, shared by several tests."""
    tables = sample_tables(PERIOD)
    view = build_executive_view(PERIOD, tables, sample_quality(), CONFIG)
    return tables, view, render_report(view, audience="executives")


@pytest.fixture(scope="module")
def hostile_reports():
    tables = sample_tables(PERIOD, hostile=True)
    comments = sample_comments(PERIOD, hostile=True)
    executive = render_report(
        build_executive_view(PERIOD, tables, sample_quality(), CONFIG), audience="executives"
    )
    pages = {
        provider: render_report(
            build_provider_view(PERIOD, provider, tables, comments, CONFIG),
            audience="department_heads",
        )
        for provider in ("IT", "HR", "Legal", HOSTILE_PROVIDER)
    }
    return executive, pages


def _visible(html: str) -> str:
    """The HTML without inline SVG (whose coordinates are numbers unrelated to the data)."""
    return re.sub(r"<svg.*?</svg>", "", html, flags=re.S)


def _all_outputs(report) -> list[str]:
    return [_visible(report.html), report.email_html, report.text]


# ---------------------------------------------------------------------------------------------
# View-model values
# ---------------------------------------------------------------------------------------------


def test_executive_view_values_carry_n_and_interval(plain):
    tables, view, _ = plain
    assert view.company.ice_p.full_text == "66.8 (95% CI 65.4 to 68.2; n = 501)"
    assert "not a significant change" in view.company.change_sentence
    assert [row.provider for row in view.best] == ["IT", "Facilities"]
    assert [row.provider for row in view.worst] == ["Finance", "HR"]
    assert view.withheld_providers == ("Legal",)
    it = view.best[0]
    source = tables["ice_scores"].query("period == @PERIOD and provider_department == 'IT'").iloc[0]
    assert (it.ice_p.value, it.ice_p.ci_low, it.ice_p.ci_high, it.ice_p.n) == (
        source["ice_p"],
        source["ice_p_ci_low"],
        source["ice_p_ci_high"],
        source["n_respondents"],
    )
    assert it.ice_p.full_text == (
        f"{source['ice_p']:.1f} (95% CI {source['ice_p_ci_low']:.1f} to "
        f"{source['ice_p_ci_high']:.1f}; n = {source['n_respondents']})"
    )
    assert it.rank_text == "1" and it.change.value_text == "+2.5" and it.change_significant
    # Movers are measured against the company's +0.6 (issue 14): IT's +2.5 (95% CI +0.5 to
    # +4.5) does not differ from it once the company's own interval is counted; HR's -3.0 does.
    assert [(mover.provider, mover.direction) for mover in view.movers.movers] == [
        ("HR", "declined"),
    ]
    assert view.movers.compared == 4 and "+0.6" in view.movers.shared_sentence
    facilities = next(row for row in view.providers if row.provider == "Facilities")
    assert facilities.ice_k_text == "no tickets" and facilities.no_tickets
    assert view.quality.rows_read_total == 2480 + 1630 + 612 + 24
    assert view.quality.rows_quarantined_total == 15
    assert [check.name for check in view.quality.checks_failed] == ["tickets_resolution_after_open"]
    survey = next(feed for feed in view.quality.feeds if feed.feed == "survey")
    assert survey.quarantined_text == "12 (0.5%)"


def test_correlation_findings_are_plain_words_with_caveat(plain):
    _, view, _ = plain
    first, second, third = view.findings
    assert first.significant and first.status == "ok"
    assert "Pearson r = -0.41, 95% CI -0.56 to -0.23, n = 96 pairs" in first.sentence
    assert "tended to be lower" in first.sentence and "2 periods later" in first.sentence
    assert "association, not causation" in first.caveat
    assert not second.significant and "may be chance" in second.sentence
    assert third.status == "insufficient data"
    assert third.sentence.startswith("Insufficient data: only 5 pairs")
    assert third.pearson_text == ""
    for finding in view.findings:
        assert "cause" not in finding.sentence.lower()


def test_k_below_three_is_refused_naming_the_key():
    with pytest.raises(ConfigError) as caught:
        ReportConfig.from_section({"k_anonymity": 2})
    assert caught.value.setting == "reports.k_anonymity"
    with pytest.raises(ConfigError) as caught:
        ReportConfig.from_section({"k_anonymty": 7})
    assert caught.value.setting == "reports.k_anonymty"
    assert ReportConfig.from_section({"k_anonymity": 7}).k_anonymity == 7


# ---------------------------------------------------------------------------------------------
# Privacy
# ---------------------------------------------------------------------------------------------


def test_no_suppressed_value_or_small_n_appears_anywhere(hostile_reports):
    executive, pages = hostile_reports
    for report in [executive, *pages.values()]:
        for output in _all_outputs(report):
            # The sentinel planted in suppressed rows, however formatted.
            assert "-7.77" not in output and "-7.8" not in output
            # No count under k is ever printed.
            assert not re.search(r"n = [0-4]\b", output), report.kind
        for chart in report_charts(report):
            for row in chart:
                assert "-7.8" not in " ".join(row)
    assert "fewer than 5 responses" in executive.html
    assert "fewer than 5 responses" in executive.text
    assert "withheld so a smaller group cannot be worked out" in executive.html
    assert "fewer than 5 responses" in pages["Legal"].html
    assert "Legal" in executive.html  # named, but without a figure


def report_charts(report):
    """The data tables of a report's charts, read back from the archived HTML."""
    tables = re.findall(r"<details>.*?</details>", report.html, flags=re.S)
    return [
        [
            re.sub(r"<[^>]+>", " ", row).split()
            for row in re.findall(r"<tr>.*?</tr>", table, flags=re.S)
        ]
        for table in tables
    ]


def test_renderer_withholds_small_groups_even_if_the_index_did_not():
    tables = sample_tables(PERIOD)
    matrix = tables["matrix_scores"].copy()
    leaky = (
        (matrix["period"] == PERIOD)
        & (matrix["provider_department"] == "Finance")
        & (matrix["consumer_department"] == "Sales")
    )
    matrix.loc[leaky, ["n_respondents", "suppressed", "score"]] = [4, False, 12.345]
    tables["matrix_scores"] = matrix
    view = build_executive_view(PERIOD, tables, sample_quality(), CONFIG)
    finance = next(row for row in view.heatmap.rows if row.provider == "Finance")
    sales = next(cell for cell in finance.cells if cell.consumer == "Sales")
    assert sales.estimate.value is None and sales.estimate.withheld == "fewer than 5 responses"
    report = render_report(view, audience="executives")
    assert "12.3" not in _visible(report.html) and "12.3" not in report.text


def test_comments_only_for_groups_of_ten_or_more(hostile_reports):
    _, pages = hostile_reports
    it_page = pages["IT"]
    assert "Great on-site help." in it_page.html and "Great on-site help." in it_page.text
    for report in pages.values():
        for output in _all_outputs(report):
            assert "SMALL-GROUP-COMMENT" not in output
            assert "LEGAL-SMALL-COMMENT" not in output
    hr_view = build_provider_view(
        PERIOD, "HR", sample_tables(PERIOD), sample_comments(PERIOD), CONFIG
    )
    assert hr_view.comment_groups == () and hr_view.comments_withheld_groups == 1
    stricter = ReportConfig(comment_min_group=19)
    it_view = build_provider_view(
        PERIOD, "IT", sample_tables(PERIOD), sample_comments(PERIOD), stricter
    )
    # IT x Sales has 12 respondents, IT x Operations 18: both now too small.
    assert it_view.comment_groups == () and it_view.comments_withheld_groups == 2


# ---------------------------------------------------------------------------------------------
# Escaping
# ---------------------------------------------------------------------------------------------


def test_hostile_labels_are_escaped_in_html(hostile_reports):
    executive, pages = hostile_reports
    for report in [executive, *pages.values()]:
        for html in (report.html, report.email_html):
            assert "<script>alert(1)</script>" not in html
            assert "<script" not in html.lower()
        assert 'HYPERLINK("http' not in _visible(report.html)  # quotes escaped (&#34;)
    # css_inline re-serialises: quotes in text content need no escaping there, markup still does.
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in executive.email_html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in executive.html
    assert "=HYPERLINK(&#34;http://evil&#34;,&#34;x&#34;)" in executive.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in pages["IT"].html  # the comment
    # matplotlib escapes the chart labels itself (SVG <text>).
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in executive.html.split("<svg", 1)[1]


def test_formula_text_is_neutralised_in_the_text_part(hostile_reports):
    executive, pages = hostile_reports
    for report in [executive, *pages.values()]:
        text = report.text.replace("'" + HOSTILE_COMMENT, "")  # quoted as a whole, see below
        assert not re.search(r"(^|[\s:(])[=+@]HYPERLINK", text)
    assert '\'=HYPERLINK("http://evil","x")' in executive.text
    it_text = pages["IT"].text
    assert "'" + HOSTILE_COMMENT in it_text
    assert "'" + HOSTILE_DIMENSION in it_text
    assert not re.search(r"(^|\s)@SUM\(1\)", it_text)
    assert HOSTILE_CONSUMER in it_text  # plain text does not run markup; left as written
    # Signed numbers are data, not formulas.
    assert neutralise_formula("+2.5") == "+2.5" and neutralise_formula("-0.41") == "-0.41"
    assert neutralise_formula("-cmd") == "'-cmd" and neutralise_formula("@SUM(1)") == "'@SUM(1)"


def test_email_of_hostile_page_is_inert(hostile_reports):
    _, pages = hostile_reports
    report = pages[HOSTILE_PROVIDER]
    message = build_message(
        report.email_html,
        report.text,
        report.images,
        report.subject,
        "reports@example.com",
        "cfo@example.com",
    )
    parsed = BytesParser(policy=policy.default).parsebytes(message.as_bytes())
    html = parsed.get_body(("html",)).get_content()
    text = parsed.get_body(("plain",)).get_content()
    assert "<script" not in html.lower() and "<svg" not in html.lower()
    assert "&lt;script&gt;" in html or "<script" not in HOSTILE_PROVIDER
    assert 'HYPERLINK("http://evil","x")' in html  # text content: shown, not run
    assert "'=HYPERLINK" in text
    assert "\n" not in parsed["Subject"]


# ---------------------------------------------------------------------------------------------
# Charts and determinism
# ---------------------------------------------------------------------------------------------


def test_charts_have_text_alternatives_and_email_uses_cid_png(hostile_reports):
    executive, _ = hostile_reports
    # The matrix is an HTML table with coloured cells, not a heat-map image (issue 14).
    assert executive.html.count("<svg") == 3
    assert executive.html.count("<details><summary>Data table") == 3
    assert "<svg" not in executive.email_html
    cids = set(re.findall(r'src="cid:([^"]+)"', executive.email_html))
    assert (
        cids
        == set(executive.images)
        == {
            "company_trend@ice-report",
            "provider_ranking@ice-report",
            "ice_p_vs_k@ice-report",
        }
    )
    assert 'class="data matrix"' in executive.email_html
    for png in executive.images.values():
        assert png.startswith(b"\x89PNG\r\n\x1a\n")
    alts = re.findall(r'<img[^>]*alt="([^"]+)"', executive.email_html)
    assert len(alts) == 3 and all(len(alt) > 30 for alt in alts)
    # css_inline moved the stylesheet into style attributes; only the @media rules stay behind.
    assert 'style="' in executive.email_html
    for block in re.findall(r"<style>(.*?)</style>", executive.email_html, re.S):
        assert block.strip().startswith("@media")


def test_withheld_bars_carry_no_number_and_say_why():
    chart = charts.ranked_bar_chart(
        "b",
        "t",
        "a",
        [("IT", 70.0, 65.0, 75.0), ("HR", None, None, None)],
        withheld_text="fewer than 5 responses",
    )
    assert chart.table_rows == (
        ("IT", "70.0", "65.0", "75.0"),
        ("HR", "fewer than 5 responses", "", ""),
    )
    assert "fewer than 5 responses" in chart.svg and ">70.0<" in chart.svg
    assert chart.svg.count('fill="#0072B2"') == 1  # one bar: none for the withheld row


def test_render_twice_gives_identical_bytes(plain):
    first = plain[2]
    view = build_executive_view(PERIOD, sample_tables(PERIOD), sample_quality(), CONFIG)
    second = render_report(view, audience="executives")
    assert first.html == second.html
    assert first.email_html == second.email_html
    assert first.text == second.text
    assert first.images == second.images
    assert PERIOD in first.html
    assert not re.search(r"20\d\d-\d\d-\d\dT\d\d:\d\d", first.html)  # no timestamps


def test_render_is_identical_in_a_fresh_process(plain):
    code = (
        "import hashlib\n"
        "from ice_pipeline.reports.config import ReportConfig\n"
        "from ice_pipeline.reports.render import render_report\n"
        "from ice_pipeline.reports.sample import sample_tables, sample_quality\n"
        "from ice_pipeline.reports.viewmodel import build_executive_view\n"
        "v = build_executive_view('2026-10', sample_tables('2026-10'), sample_quality(), "
        "ReportConfig())\n"
        "r = render_report(v, audience='executives')\n"
        "print(hashlib.sha256(r.html.encode()).hexdigest())\n"
    )
    env = {"PYTHONHASHSEED": "12345", "PATH": "/usr/bin:/bin"}
    other = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        timeout=120,
    ).stdout.strip()
    here = hashlib.sha256(plain[2].html.encode()).hexdigest()
    assert other == here


def test_quality_dict_with_single_total_and_plain_check_names():
    view = build_executive_view(
        PERIOD,
        sample_tables(PERIOD),
        {"rows_read": 1000, "checks_failed": ["survey_scale_in_range"]},
        CONFIG,
    )
    assert view.quality.rows_read_total == 1000
    assert view.quality.checks_failed[0].name == "survey_scale_in_range"
    assert "1 data check failed" in view.quality.verdict


def test_empty_period_renders_plainly():
    tables = {name: frame.iloc[0:0] for name, frame in sample_tables(PERIOD).items()}
    view = build_executive_view(PERIOD, tables, {}, CONFIG)
    report = render_report(view, audience="executives")
    assert "No provider had enough responses to be ranked" in report.html
    assert "No relationship could be examined this period." in report.html
    assert isinstance(tables["ice_scores"], pd.DataFrame)


def test_provider_kind_fits_the_archive_column():
    from ice_pipeline.reports.render import provider_kind
    from ice_pipeline.warehouse import schema

    limit = schema.report_archive.c.kind.type.length
    assert provider_kind("IT") == "provider:IT"
    long_a, long_b = "A" * 80 + "x", "A" * 80 + "y"
    assert len(provider_kind(long_a)) == limit
    assert provider_kind(long_a) != provider_kind(long_b)


def test_report_settings_follow_the_index_configuration() -> None:
    from ice_pipeline.errors import ConfigError
    from ice_pipeline.index import IndexConfig
    from ice_pipeline.reports.config import report_config_for

    index = IndexConfig.from_section({"k_min_respondents": 7, "comment_min_group": 12})
    config = report_config_for({"organisation": "Acme"}, index)
    assert (config.k_anonymity, config.comment_min_group, config.organisation) == (7, 12, "Acme")
    with pytest.raises(ConfigError, match=r"reports.k_anonymity.*index.k_min_respondents"):
        report_config_for({"k_anonymity": 3}, index)


def test_report_figures_do_not_depend_on_the_engines_summation_order() -> None:
    """61.25 summed in two orders arrives as ...4999 or ...5001: both must print as one figure."""
    import pandas as pd

    from ice_pipeline.reports.publish import steady_floats

    frame = pd.DataFrame(
        {"score": [61.24999999999999, 61.25000000000001, float("nan"), 0.0, -3.3e-7], "n": [1] * 5}
    )
    steady = steady_floats(frame)
    assert f"{steady['score'][0]:.1f}" == f"{steady['score'][1]:.1f}" == "61.2"
    assert steady["score"][2] != steady["score"][2]  # NaN stays NaN
    assert steady["score"][3] == 0.0 and steady["score"][4] == -3.3e-7
    assert steady["n"].tolist() == [1] * 5
    assert f"{frame['score'][1]:.1f}" == "61.3"  # what the page showed before
