"""External customer metrics: NPS and top-2-box from raw answers, or an aggregated table."""

import math
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest
import yaml

from ice_pipeline.ingest.common import ParseResult, decode_file
from ice_pipeline.ingest.external import nps_with_interval, read_external, wilson_interval

FIXTURES = Path(__file__).resolve().parent / "fixtures"
EXAMPLES = Path(__file__).resolve().parent.parent / "ice_pipeline" / "ingest" / "mapping_examples"
NOW = datetime(2026, 6, 1)


def realdata(*parts: str) -> Path:
    copy = FIXTURES.joinpath("realdata", *parts)
    return (
        copy
        if copy.exists()
        else Path(__file__).resolve().parents[2].joinpath("shared", "realdata", *parts)
    )


def _mapping(name: str) -> dict:
    return yaml.safe_load((FIXTURES / "mappings" / name).read_text(encoding="utf-8"))


def _read(tmp_path: Path, text: str, mapping: dict) -> ParseResult:
    path = tmp_path / "external.csv"
    path.write_text(text, encoding="utf-8")
    return read_external(
        decode_file(path), mapping, file_format=None, salt="s", hr_employees=None, now=NOW
    )


def test_nps_and_its_interval_by_hand() -> None:
    # 5 promoters, 3 passives, 2 detractors of 10: NPS 30; var = (0.5 + 0.2 - 0.09) / 10 = 0.061.
    value, low, high = nps_with_interval(pd.Series([10, 9, 9, 10, 9, 7, 8, 8, 3, 6]))
    half = 1.959963984540054 * math.sqrt(0.061) * 100
    assert value == pytest.approx(30.0)
    assert (low, high) == (pytest.approx(30 - half), pytest.approx(30 + half))


def test_wilson_interval_known_value() -> None:
    low, high = wilson_interval(8, 10)  # 80% of 10: Wilson 95% is 49.0%-94.3%
    assert low == pytest.approx(49.02, abs=0.01) and high == pytest.approx(94.33, abs=0.01)


def test_real_carpentries_post_survey_967_rows_78_blank() -> None:
    decoded = decode_file(realdata("nps_carpentries_surveys", "20180908_post_clean.csv"))
    result = read_external(
        decoded,
        _mapping("external_carpentries_post.mapping.yaml"),
        file_format=None,
        salt="s",
        hr_employees=None,
        now=NOW,
    )
    assert result.counts == {
        "rows_read": 967,
        "rows_kept": 889,
        "rows_quarantined": 0,
        "rows_excluded": 78,
    }
    assert result.excluded_by_reason == {"no answer in LikelyToRecommend": 78}
    metrics = result.tables["external_metrics"]
    assert int(metrics["n_responses"].sum()) == 889
    assert set(metrics["metric"]) == {"nps"}
    assert metrics["period"].min() == "2016-06" and metrics["period"].max() == "2018-09"
    # Overall NPS from SOURCE.md's counts: 501 promoters (9-10), 71 detractors (0-6) of 889.
    answered = pd.read_csv(
        realdata("nps_carpentries_surveys", "20180908_post_clean.csv"),
        usecols=["LikelyToRecommend"],
    )["LikelyToRecommend"].dropna()
    assert len(answered) == 889 and (answered >= 9).sum() == 501 and (answered <= 6).sum() == 71
    weighted = (metrics["value"] * metrics["n_responses"]).sum() / 889
    assert weighted == pytest.approx(100 * (501 - 71) / 889)
    # The NO-BREAK SPACE in "My training event is not listed" becomes a plain space.
    assert "My training event is not listed" in set(metrics["business_unit"])


def test_real_carpentries_long_term_survey_with_a_fixed_period() -> None:
    decoded = decode_file(
        realdata("nps_carpentries_surveys", "2020-12-long-term-other_questions-no-open.csv")
    )
    result = read_external(
        decoded,
        _mapping("external_carpentries_longterm.mapping.yaml"),
        file_format=None,
        salt="s",
        hr_employees=None,
        now=NOW,
    )
    assert result.counts == {
        "rows_read": 87,
        "rows_kept": 87,
        "rows_quarantined": 0,
        "rows_excluded": 0,
    }
    metrics = result.tables["external_metrics"].set_index("business_unit")
    assert metrics["n_responses"].to_dict() == {
        "Data Carpentry": 34,
        "I don't know": 3,
        "Library Carpentry": 10,
        "Software Carpentry": 40,
    }
    assert metrics.loc["Software Carpentry", "department"] == "Software"
    assert pd.isna(metrics.loc["I don't know", "department"])
    assert set(metrics["period"]) == {"2020-12"}


def test_csat_top_two_box_with_bad_answers_quarantined(tmp_path: Path) -> None:
    mapping = yaml.safe_load(
        (EXAMPLES / "external_csat_responses.yaml").read_text(encoding="utf-8")
    )
    text = (
        "Submitted At,Region,Satisfaction\n"
        "2026-03-01,North,5\n2026-03-02,North,4\n2026-03-03,North,2\n2026-03-04,North,NA\n"
        "2026-03-05,North,7\n2026-03-06,North,good\n2026-03-07,South,3\n2026-03-08,North,4.5\n"
    )
    result = _read(tmp_path, text, mapping)
    metrics = result.tables["external_metrics"].set_index("business_unit")
    assert metrics.loc["North", "value"] == pytest.approx(200 / 3)
    assert (
        metrics.loc["North", "n_responses"] == 3 and metrics.loc["North", "department"] == "Sales"
    )
    assert metrics.loc["South", "value"] == 0.0
    assert dict(zip(result.quarantine["source_row"], result.quarantine["reason"], strict=True)) == {
        6: "Satisfaction 7 is outside 1-5",
        7: "Satisfaction 'good' is not a number",
        9: "Satisfaction 4.5 is not a whole number",
    }
    assert result.counts == {
        "rows_read": 8,
        "rows_kept": 4,
        "rows_quarantined": 3,
        "rows_excluded": 1,
    }


def test_aggregated_metrics_table(tmp_path: Path) -> None:
    mapping = yaml.safe_load((EXAMPLES / "external_metrics.yaml").read_text(encoding="utf-8"))
    text = (
        "Quarter,Unit,KPI,Value,Responses\n2026-Q1,Retail,NPS,31.5,420\n"
        "2026-Q1,Retail,CSAT %,88,400\n"
        "2026-Q1,Online,NPS,130,50\n2026-Q1,Online,Churn,3,50\n"
    )
    result = _read(tmp_path, text, mapping)
    metrics = result.tables["external_metrics"]
    assert metrics[["business_unit", "metric", "value", "n_responses", "department"]].to_dict(
        "records"
    ) == [
        {
            "business_unit": "Retail",
            "metric": "nps",
            "value": 31.5,
            "n_responses": 420,
            "department": "Sales",
        },
        {
            "business_unit": "Retail",
            "metric": "csat_pct",
            "value": 88.0,
            "n_responses": 400,
            "department": "Sales",
        },
    ]
    assert dict(zip(result.quarantine["source_row"], result.quarantine["reason"], strict=True)) == {
        4: "nps value 130 is outside -100-100",
        5: "metric 'Churn' is not nps or csat_pct; add it to metric_names",
    }


def test_external_mapping_examples_load() -> None:
    from ice_pipeline.ingest.mapping import load_mapping

    for path in sorted(EXAMPLES.glob("external_*.yaml")):
        assert load_mapping(path).feed == "external", path
