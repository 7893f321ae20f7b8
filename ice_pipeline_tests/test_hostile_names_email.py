"""Hostile names are data (issue 12 item 9): every attribute of the e-mail HTML is escaped.

css_inline re-serialises attributes as HTML5 does (only ``&`` and ``"`` escaped), so an ``alt``
naming a department ``R&D <script> team`` used to carry a literal ``<script>`` and the mail guard
refused the whole period. Now such pages render, are archived and reach a real SMTP server.
"""

import re
import socket
from email import message_from_bytes, policy
from html.parser import HTMLParser

import pandas as pd
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import create_engine

from ice_pipeline.reports.config import ReportConfig
from ice_pipeline.reports.delivery import SmtpSettings, SmtpTransport
from ice_pipeline.reports.publish import EmailConfig, publish_period
from ice_pipeline.reports.render import escape_attributes, mail_safe_html, provider_kind
from ice_pipeline.reports.sample import (
    create_report_tables,
    sample_comments,
    sample_quality,
    sample_tables,
)

PERIOD = "2026-10"
HOSTILE = {"IT": "R&D <script> team", "Legal": "<svg/onload=alert(1)>"}


class Recorder:
    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.messages.append(envelope.original_content)
        return "250 OK"


def _hostile_tables() -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    tables = {}
    for name, frame in sample_tables(PERIOD).items():
        if "provider_department" in frame:
            frame = frame[frame["provider_department"].isin(list(HOSTILE))].copy()
            frame["provider_department"] = frame["provider_department"].replace(HOSTILE)
        tables[name] = frame
    comments = sample_comments(PERIOD)
    comments = comments[comments["provider_department"].isin(list(HOSTILE))].copy()
    comments["provider_department"] = comments["provider_department"].replace(HOSTILE)
    return tables, comments


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.attribute_values: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        self.attribute_values.extend(value or "" for _, value in attrs)


def test_attribute_values_are_escaped_after_inlining() -> None:
    inlined = mail_safe_html(
        '<html><head><style>img{border:0}</style></head><body><img alt="R&amp;D &lt;script&gt;'
        ' team" title="&lt;svg/onload=alert(1)&gt;"><p>a &lt; b</p></body></html>'
    )
    assert 'alt="R&amp;D &lt;script&gt; team"' in inlined
    assert 'title="&lt;svg/onload=alert(1)&gt;"' in inlined
    assert "<p>a &lt; b</p>" in inlined and 'style="border: 0;"' in inlined
    # Text and raw-text elements pass through as they were.
    raw = "<html><body><style>a > b {}</style><!-- c --><p>&amp; &#39;</p></body></html>"
    assert escape_attributes(raw) == raw


@pytest.mark.parametrize("name", list(HOSTILE.values()))
def test_hostile_provider_pages_render_and_are_delivered_escaped(duckdb_url, tmp_path, name):
    tables, comments = _hostile_tables()
    recorder = Recorder()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    engine = create_engine(duckdb_url)
    create_report_tables(engine)
    try:
        result = publish_period(
            engine,
            period=PERIOD,
            tables=tables,
            quality=sample_quality(),
            comments=comments,
            config=ReportConfig(),
            email=EmailConfig.from_section(
                {
                    "allowed_domains": ["example.com"],
                    "recipients": {f"provider:{name}": ["head@example.com"]},
                }
            ),
            run_id="r1",
            reports_dir=tmp_path / "reports",
            outbox_dir=tmp_path / "outbox",
            transport=SmtpTransport(
                SmtpSettings(
                    host="127.0.0.1", port=port, security="none", from_address="r@example.com"
                )
            ),
        )
    finally:
        controller.stop()
        engine.dispose()
    kinds = [report.kind for report in result.archived]
    # nothing of the period was lost: summary, methodology, correlations and both provider pages
    assert provider_kind(name) in kinds and len(kinds) == 5
    assert result.deliveries[provider_kind(name)].sent == ["head@example.com"]
    assert len(recorder.messages) == 1
    message = message_from_bytes(recorder.messages[0], policy=policy.default)
    html = message.get_body(("html",)).get_content()
    elements = _Elements()
    elements.feed(html)
    assert not {"script", "svg"} & elements.tags
    escaped = name.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    assert escaped in html
    alts = re.findall(r'alt="([^"]*)"', html)
    assert alts and all("<" not in alt and ">" not in alt for alt in alts)
    assert any(name in value for value in elements.attribute_values)  # the name, intact
    assert name in message["Subject"]
