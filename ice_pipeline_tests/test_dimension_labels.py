"""Dimension labels come from the survey mapping, never raw codes (issue 14).

The mapping's ``dimension_labels:`` is accepted by the mapping schema, collected from the landing
directory by ``survey_dimension_labels``, overridden per code by ``reports.dimension_labels``, and
every page kind (archived HTML, e-mail HTML, plain text) then shows the labels: a code appears
nowhere. A code labelled nowhere is shown in words, still not as the code.
"""

from pathlib import Path

import pandas as pd
import pytest
import yaml

from ice_pipeline.demo.organisation import DIMENSION_NAMES
from ice_pipeline.demo.surveys import DIMENSION_LABELS, survey_mapping
from ice_pipeline.ingest.mapping import load_mapping
from ice_pipeline.ingest.mapping_labels import survey_dimension_labels
from ice_pipeline.reports.config import ReportConfig
from ice_pipeline.reports.publish import render_period_reports
from ice_pipeline.reports.sample import DIMENSIONS, sample_comments, sample_quality, sample_tables

PERIOD = "2026-10"
# Codes no page text could hold by accident, standing for the sample's four dimensions.
CODES = {name: f"dim_{index}_code" for index, name in enumerate(DIMENSIONS)}
LABELS = {code: f"Label {name}" for name, code in CODES.items()}


@pytest.mark.parametrize("layout", ["qualtrics", "surveymonkey", "limesurvey", "google_forms"])
def test_the_demo_mapping_labels_every_dimension_and_is_accepted(tmp_path: Path, layout: str):
    folder = tmp_path / "landing" / "surveys" / layout
    folder.mkdir(parents=True)
    (folder / "mapping.yaml").write_text(yaml.safe_dump(survey_mapping(layout)), "utf-8")
    load_mapping(folder / "mapping.yaml")  # the schema knows the key (else a ConfigError)
    labels = survey_dimension_labels(tmp_path / "landing")
    assert labels == DIMENSION_LABELS
    assert set(labels) == set(DIMENSION_NAMES)


def test_the_config_overrides_the_mapping_per_code(tmp_path: Path):
    folder = tmp_path / "landing" / "surveys"
    folder.mkdir(parents=True)
    (folder / "a.mapping.yaml").write_text(
        "feed: surveys\ndimension_labels: {quality: Quality of work, effort: '  '}\n", "utf-8"
    )
    (folder / "broken" / "mapping.yaml").parent.mkdir()
    (folder / "broken" / "mapping.yaml").write_text("feed: [unclosed\n", "utf-8")
    mapping = survey_dimension_labels(tmp_path / "landing")
    assert mapping == {"quality": "Quality of work"}  # a blank label is no label
    config = ReportConfig(dimension_labels={"quality": "Work quality"})
    merged = config.with_mapping_labels({**mapping, "speed": "Speed"}).dimension_labels
    assert merged == {"quality": "Work quality", "speed": "Speed"}


def _coded_tables() -> dict[str, pd.DataFrame]:
    tables = sample_tables(PERIOD)
    for frame in tables.values():
        if "dimension" in frame:
            frame["dimension"] = frame["dimension"].map(lambda d: CODES.get(d, d))
    return tables


def _pages(labels: dict[str, str]) -> str:
    config = ReportConfig().with_mapping_labels(labels)
    reports = render_period_reports(
        PERIOD, _coded_tables(), sample_quality(), sample_comments(PERIOD), config
    )
    return "\n".join(part for r in reports for part in (r.html, r.email_html, r.text))


def test_pages_show_the_mapping_labels_and_never_a_code():
    pages = _pages(LABELS)
    for code, label in LABELS.items():
        assert code not in pages, code
        assert label in pages, label


def test_without_any_label_a_code_is_shown_in_words():
    pages = _pages({})
    for code in LABELS:
        assert code not in pages, code
        assert code.replace("_", " ").capitalize() in pages
