"""The demo generator: exact export layouts, determinism, counts, and the planted effects.

The planted effects are checked here with plain pandas on the written files (not through the
pipeline), so a failure points at the generator. A small independent reader, driven by each
layout's mapping.yaml, proves that every survey and ticket layout carries the same canonical
rows.
"""

import csv
import hashlib
import io
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from ice_pipeline.demo.generator import generate_demo, generate_enterprise_month
from ice_pipeline.demo.organisation import (
    BUSINESS_UNITS,
    DECLINING_PROVIDERS,
    DEPARTMENTS,
    DIP_DEPARTMENT,
    IMPROVING_PROVIDERS,
    NULL_BUSINESS_UNIT,
    PROVIDER_CODES,
    PROVIDER_NAMES,
)
from ice_pipeline.demo.surveys import TRICKY_COMMENTS
from ice_pipeline.errors import ConfigError

QUALTRICS_META = [
    "StartDate",
    "EndDate",
    "Status",
    "IPAddress",
    "Progress",
    "Duration (in seconds)",
    "Finished",
    "RecordedDate",
    "ResponseId",
    "RecipientLastName",
    "RecipientFirstName",
    "RecipientEmail",
    "ExternalReference",
    "LocationLatitude",
    "LocationLongitude",
    "DistributionChannel",
    "UserLanguage",
]


def _digests(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _records(path: Path, encoding: str = "utf-8") -> list[list[str]]:
    with path.open(encoding=encoding, newline="") as handle:
        return list(csv.reader(handle))


def _qualtrics_frame(folder: Path) -> pd.DataFrame:
    """All Qualtrics waves as one frame (row 1 = column ids; rows 2-3 skipped)."""
    frames = []
    for path in sorted((folder / "surveys").glob("ice_pulse_*.csv")):
        frame = pd.read_csv(
            path, skiprows=[1, 2], dtype=str, keep_default_na=False, encoding="utf-8-sig"
        )
        frame["period"] = path.stem.rsplit("_", 1)[1]
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def _provider_scores(frame: pd.DataFrame) -> pd.DataFrame:
    """Respondent-first 0-100 score per (period, response, provider) from raw Qualtrics columns."""
    kept = frame[(frame["Status"] == "0") & (frame["Finished"] == "1")]
    parts = []
    for code, name in zip(PROVIDER_CODES, PROVIDER_NAMES, strict=True):
        # Five dimensions and the overall item (issue 14): ICE-P is the mean of all six.
        items = kept[[f"Q_{code}_{d}" for d in range(1, 7)]].replace("", np.nan).astype(float)
        items = items.where(items > 0)  # -1 is not applicable: missing, never a low score
        scores = (items - 1) * 25
        scores[f"Q_{code}_5"] = (5 - items[f"Q_{code}_5"]) * 25  # the reversed effort item
        parts.append(
            pd.DataFrame(
                {
                    "period": kept["period"],
                    "dept_code": kept["Q_DEPT"],
                    "provider": name,
                    "score": scores.mean(axis=1),
                }
            )
        )
    return pd.concat(parts).dropna(subset=["score"])


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """The default organisation: 2,000 employees, 24 periods, Qualtrics + ServiceNow."""
    out = tmp_path_factory.mktemp("demo")
    return out, generate_demo(out)


@pytest.fixture(scope="module")
def layouts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The same small organisation in every survey and ticket layout."""
    combos = {
        "qualtrics": "servicenow",
        "surveymonkey": "jira",
        "limesurvey": "zendesk",
        "google_forms": "jira",
    }
    folders = {}
    for survey_format, ticket_format in combos.items():
        out = tmp_path_factory.mktemp(survey_format)
        generate_demo(
            out,
            employees=300,
            periods=3,
            survey_format=survey_format,
            ticket_format=ticket_format,
            ticket_locale="de" if survey_format == "google_forms" else "en",
        )
        folders[survey_format] = out
    return folders


# ------------------------------------------------------------------------------------------
# Determinism and accounting
# ------------------------------------------------------------------------------------------


def test_same_seed_gives_byte_identical_files_and_another_seed_does_not(tmp_path: Path) -> None:
    first = _digests(_generated(tmp_path / "a", seed=7))
    second = _digests(_generated(tmp_path / "b", seed=7))
    other = _digests(_generated(tmp_path / "c", seed=8))
    assert first == second
    # surveys 3 + mapping, tickets 3 + mapping, roster + mapping, (nps, csat, csat mapping) x 3 +
    # mapping, truth
    assert len(first) == 4 + 4 + 2 + 10 + 1
    assert first["surveys/ice_pulse_2026-10.csv"] != other["surveys/ice_pulse_2026-10.csv"]


def _generated(out: Path, **kwargs: object) -> Path:
    generate_demo(out, employees=300, periods=3, **kwargs)
    return out


def test_row_counts_match_the_summary(demo: tuple[Path, dict]) -> None:
    out, summary = demo
    frame = _qualtrics_frame(out)
    rows = summary["rows"]
    assert len(frame) == rows["surveys"]["responses_written"]
    assert (frame["Status"] == "1").sum() == rows["surveys"]["preview_responses"] > 0
    assert (frame["Finished"] == "0").sum() == rows["surveys"]["incomplete_responses"] > 0
    assert ((frame["Progress"].astype(int) < 100) == (frame["Finished"] == "0")).all()
    complete = frame[(frame["Status"] == "0") & (frame["Finished"] == "1")]
    assert len(complete) == rows["surveys"]["complete_responses"]
    rating_columns = [c for c in frame.columns if re.fullmatch(r"Q_[A-Z]+_\d", c)]
    answers = complete[rating_columns]
    assert (answers != "").to_numpy().sum() == rows["surveys"]["ratings"]
    assert (answers == "-1").to_numpy().sum() == rows["surveys"]["not_applicable"]
    # Default: 3 providers per respondent (never their own department), 5 dimensions each plus
    # the overall item (issue 14).
    assert rows["surveys"]["ratings"] == 18 * rows["surveys"]["complete_responses"]
    ticket_rows = sum(len(pd.read_csv(p)) for p in (out / "tickets").glob("*.csv"))
    assert ticket_rows == rows["tickets"]
    # About one ticket per employee per year.
    assert 0.8 * 2000 * 2 < ticket_rows < 1.2 * 2000 * 2
    last = pd.read_csv(
        out / "tickets" / "servicenow_incidents_2026-10.csv", dtype=str, keep_default_na=False
    )
    still_open = last["incident_state"] == "In Progress"  # open when the export was taken
    assert still_open.any() and (last.loc[still_open, "resolved_at"] == "").all()
    assert (last.loc[~still_open, "resolved_at"] != "").all()
    roster = pd.read_csv(out / "hr" / "roster_2026-10.csv", dtype=str, keep_default_na=False)
    assert len(roster) == rows["hr_roster"]
    nps = sum(len(pd.read_csv(p)) for p in (out / "external").glob("nps_responses_*.csv"))
    csat = sum(len(pd.read_csv(p)) for p in (out / "external").glob("csat_responses_*.csv"))
    assert (nps, csat) == (rows["external"]["nps_responses"], rows["external"]["csat_responses"])
    assert sorted(summary["files"]) == ["external", "ground_truth", "hr", "surveys", "tickets"]
    for names in summary["files"].values():
        for name in names:
            assert (out / name).is_file(), name


# ------------------------------------------------------------------------------------------
# Qualtrics exactly as Qualtrics writes it
# ------------------------------------------------------------------------------------------


def test_qualtrics_file_has_bom_and_exactly_three_header_rows(demo: tuple[Path, dict]) -> None:
    out, _ = demo
    path = out / "surveys" / "ice_pulse_2026-10.csv"
    assert path.read_bytes()[:3] == b"\xef\xbb\xbf"
    records = _records(path, "utf-8-sig")
    row1, row2, row3, first_data = records[:4]
    assert row1[:17] == QUALTRICS_META
    assert row1[17] == "Q_DEPT" and row1[18:25] == [
        "Q_IT_1",
        "Q_IT_2",
        "Q_IT_3",
        "Q_IT_4",
        "Q_IT_5",
        "Q_IT_6",
        "Q_IT_TEXT",
    ]
    assert len(row1) == len(row2) == len(row3) == 17 + 1 + 7 * len(PROVIDER_NAMES)
    assert row2[8] == "Response ID"
    assert row2[18] == (
        "How much do you agree with the following about Information Technology? - "
        "They respond quickly to my requests"
    )
    imports = [json.loads(cell)["ImportId"] for cell in row3]
    assert imports[:3] == ["startDate", "endDate", "status"] and imports[8] == "_recordId"
    assert imports[18] == "QID2_1" and imports[24] == "QID3_TEXT"
    # Row 3 is CSV-quoted JSON, as Qualtrics writes it.
    third_line = path.read_text(encoding="utf-8-sig").split("\n")[2]
    assert third_line.startswith('"{""ImportId"":""startDate""}",')
    # Data starts on row 4: never another header-looking row.
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", first_data[0])
    ids = [r[8] for r in records[3:]]
    assert all(re.fullmatch(r"R_[A-Za-z0-9]{15}", i) for i in ids)
    assert len(set(ids)) == len(ids)


def test_qualtrics_export_carries_fictional_personal_data(demo: tuple[Path, dict]) -> None:
    out, _ = demo
    frame = _qualtrics_frame(out)
    real = frame[frame["Status"] == "0"]
    assert real["RecipientEmail"].str.fullmatch(r"e\d{7}@staff\.example\.com").all()
    assert real["ExternalReference"].str.fullmatch(r"E\d{7}").all()
    assert real["IPAddress"].str.match(r"(203\.0\.113|198\.51\.100)\.\d+$").all()
    assert (real["RecipientFirstName"] != "").all() and (real["RecipientLastName"] != "").all()
    assert real["LocationLatitude"].astype(float).between(50, 53).all()
    # Respondents are employees of the roster, and their department code matches HR's department.
    roster = pd.read_csv(out / "hr" / "roster_2026-10.csv", dtype=str, keep_default_na=False)
    department_of = dict(zip(roster["Employee ID"], roster["Department"], strict=True))
    mapping = yaml.safe_load((out / "surveys" / "mapping.yaml").read_text(encoding="utf-8"))
    codes = mapping["consumer_department_values"]
    sample = real.head(500)
    assert [codes[c] for c in sample["Q_DEPT"]] == [
        department_of[e] for e in sample["ExternalReference"]
    ]


def test_tricky_comments_round_trip_through_csv_parsing(demo: tuple[Path, dict]) -> None:
    out, _ = demo
    frame = _qualtrics_frame(out)
    comments = set(frame[[c for c in frame.columns if c.endswith("_TEXT")]].to_numpy().ravel()) - {
        ""
    }
    for tricky in TRICKY_COMMENTS:
        assert tricky in comments, tricky
    assert "Line one of my comment\nLine two, with a comma" in comments
    assert '=HYPERLINK("http://x","y")' in comments
    assert "<script>alert(1)</script>" in comments


# ------------------------------------------------------------------------------------------
# The planted effects, found with plain pandas in the files
# ------------------------------------------------------------------------------------------


def _slope(series: pd.Series) -> float:
    return float(np.polyfit(np.arange(len(series)), series.to_numpy(), 1)[0])


def test_improving_and_declining_providers_are_visible_in_the_raw_files(
    demo: tuple[Path, dict],
) -> None:
    out, _ = demo
    scores = _provider_scores(_qualtrics_frame(out))
    by_period = scores.groupby(["provider", "period"])["score"].mean().unstack("period")
    assert by_period.shape == (10, 24)
    slopes = {name: _slope(by_period.loc[name]) for name in PROVIDER_NAMES}
    for name in IMPROVING_PROVIDERS:
        assert slopes[name] > 0.4, slopes  # planted: +15 points over 23 steps = 0.65 per period
        assert by_period.loc[name].iloc[-6:].mean() - by_period.loc[name].iloc[:6].mean() > 8
    for name in DECLINING_PROVIDERS:
        assert slopes[name] < -0.4, slopes
        assert by_period.loc[name].iloc[:6].mean() - by_period.loc[name].iloc[-6:].mean() > 8
    for name in set(PROVIDER_NAMES) - set(IMPROVING_PROVIDERS) - set(DECLINING_PROVIDERS):
        assert abs(slopes[name]) < 0.2, slopes
    truth = json.loads((out / "ground_truth.json").read_text(encoding="utf-8"))
    observed = truth["observed"]["provider_score_by_period"]
    for name in PROVIDER_NAMES:  # the ground truth's realised values are those of the files
        assert observed[name]["observed_score_by_period"] == pytest.approx(
            by_period.loc[name].round(2).tolist(), abs=0.011
        )


def _monthly_turnover(roster: pd.DataFrame, periods: list[str]) -> pd.DataFrame:
    """Voluntary leavers / average headcount (%) per department and month, from the roster."""
    hire = pd.to_datetime(roster["Hire Date"])
    term = pd.to_datetime(roster["Termination Date"].replace("", None))
    voluntary = roster["Termination Type"].isin(["Voluntary", "Retirement"])
    rows = []
    for period in periods:
        start = pd.Timestamp(period + "-01")
        end = start + pd.offsets.MonthBegin(1)
        at_start = (hire < start) & ~(term < start)
        at_end = (hire < end) & ~(term < end)
        left = (term >= start) & (term < end) & voluntary
        for dept in DEPARTMENTS:
            in_dept = roster["Department"] == dept
            avg = ((at_start & in_dept).sum() + (at_end & in_dept).sum()) / 2
            rows.append(
                {
                    "period": period,
                    "department": dept,
                    "voluntary_pct": 100 * (left & in_dept).sum() / avg if avg else np.nan,
                }
            )
    return pd.DataFrame(rows).pivot(index="department", columns="period", values="voluntary_pct")


def test_department_satisfaction_falls_before_its_turnover_rises(demo: tuple[Path, dict]) -> None:
    out, _ = demo
    frame = _qualtrics_frame(out)
    scores = _provider_scores(frame)
    mapping = yaml.safe_load((out / "surveys" / "mapping.yaml").read_text(encoding="utf-8"))
    code = {v: k for k, v in mapping["consumer_department_values"].items()}[DIP_DEPARTMENT]
    mine = scores[scores["dept_code"] == code]
    satisfaction = mine.groupby("period")["score"].mean()
    assert satisfaction.iloc[:5].mean() - satisfaction.iloc[11:16].mean() > 10

    roster = pd.read_csv(out / "hr" / "roster_2026-10.csv", dtype=str, keep_default_na=False)
    turnover = _monthly_turnover(roster, list(satisfaction.index))
    dip = turnover.loc[DIP_DEPARTMENT]
    assert dip.iloc[13:20].mean() > 2 * dip.iloc[:8].mean()
    # Satisfaction now against voluntary turnover 1-3 months later: clearly negative.
    for lag in (1, 2, 3):
        r = np.corrcoef(satisfaction.iloc[: 24 - lag], dip.iloc[lag:])[0, 1]
        assert r < -0.5, (lag, r)
    # Every other department's voluntary turnover stays near the ~1.1% base rate.
    others = turnover.drop(index=[DIP_DEPARTMENT])
    big = roster["Department"].value_counts()
    big_others = others.loc[[d for d in others.index if big.get(d, 0) >= 100]]
    assert 0.6 < np.nanmean(big_others.to_numpy()) < 1.6
    # Overall monthly turnover (voluntary + involuntary) is realistic: ~1-2%.
    assert (roster["Termination Type"] != "").sum() / (2000 * 24) == pytest.approx(0.015, abs=0.004)


def test_external_metrics_planted_lag_and_null_unit(demo: tuple[Path, dict]) -> None:
    out, _ = demo
    # Company score per period: mean of the (response, provider) scores, close enough to ICE-P.
    scores = _provider_scores(_qualtrics_frame(out))
    per_period = scores.groupby("period")["score"].mean()
    csat = pd.concat(
        [pd.read_csv(p) for p in sorted((out / "external").glob("csat_responses_*.csv"))]
    )
    csat["period"] = csat["Date"].str[:7]
    top2 = (
        csat.assign(top2=csat.iloc[:, 2] >= 4).groupby(["Business Unit", "period"])["top2"].mean()
        * 100
    )
    planted = top2.drop(index=NULL_BUSINESS_UNIT).groupby("period").mean()
    r_lag1 = np.corrcoef(per_period.iloc[:-1], planted.iloc[1:])[0, 1]
    r_lag0 = np.corrcoef(per_period, planted)[0, 1]
    assert r_lag1 > 0.5 and r_lag1 > r_lag0 + 0.2, (r_lag1, r_lag0)
    nps = pd.concat(
        [pd.read_csv(p) for p in sorted((out / "external").glob("nps_responses_*.csv"))]
    )
    nps["period"] = nps["Date"].str[:7]
    null = nps[nps["Business Unit"] == NULL_BUSINESS_UNIT]
    null_nps = null.groupby("period")["Likely to recommend"].apply(
        lambda s: 100 * ((s >= 9).mean() - (s <= 6).mean())
    )
    for lag in (0, 1, 2, 3):
        r = np.corrcoef(per_period.iloc[: 24 - lag], null_nps.iloc[lag:])[0, 1]
        assert abs(r) < 0.45, (lag, r)
    assert set(nps["Business Unit"]) == set(BUSINESS_UNITS)


def test_ground_truth_documents_every_effect(demo: tuple[Path, dict]) -> None:
    out, _ = demo
    truth = json.loads((out / "ground_truth.json").read_text(encoding="utf-8"))
    ids = [e["id"] for e in truth["effects"]]
    assert ids == [
        "key_driver",
        "provider_trends",
        "consumer_satisfaction_precedes_turnover",
        "null_business_unit_external",
        "null_provider_ice_vs_own_turnover",
        "company_ice_leads_external_csat",
    ]
    for effect in truth["effects"]:
        assert effect["parameters"] and effect["expected_detection"] and effect["kind"]
    dip = truth["effects"][2]
    assert dip["parameters"]["department"] == DIP_DEPARTMENT
    assert dip["parameters"]["turnover_lag_periods"] == 2
    assert all(
        r < -0.5
        for r in dip["observed"]["pearson_r_satisfaction_vs_voluntary_turnover_by_lag"].values()
    )
    assert truth["periods"][0] == "2024-11" and truth["periods"][-1] == "2026-10"
    assert truth["expected_survey_exclusions"]["preview_responses"] > 0


# ------------------------------------------------------------------------------------------
# Alternate layouts: header structure, and the same canonical rows as Qualtrics
# ------------------------------------------------------------------------------------------


def test_surveymonkey_layout_has_two_header_rows_and_grouped_questions(
    layouts: dict[str, Path],
) -> None:
    path = layouts["surveymonkey"] / "surveys" / "ice_pulse_sm_2026-10.csv"
    records = _records(path)
    row1, row2 = records[0], records[1]
    assert row1[0] == "Respondent ID" and row2[0] == ""
    start = row1.index("How much do you agree with the following about Information Technology?")
    assert row1[start + 1 : start + 5] == ["", "", "", ""]
    assert row2[start : start + 7] == [
        "They respond quickly to my requests",
        "The work they deliver is of high quality",
        "They keep me informed about progress",
        "They know their subject well",
        "It took too much effort to get what I needed",
        "Overall, I am satisfied with their service",
        "Open-Ended Response",
    ]
    assert row2[row1.index("Which department do you work in?")] == "Response"
    data = records[2:]
    assert all(re.fullmatch(r"\d{10}", r[0]) for r in data)
    assert all(re.fullmatch(r"\d{2}/\d{2}/\d{4} \d{2}:\d{2}:\d{2} [AP]M", r[3]) for r in data)
    values = {v for r in data for v in r[start : start + 5]}
    assert {"Strongly agree", "Strongly disagree", "N/A", ""} <= values


def test_limesurvey_layout_quotes_every_value(layouts: dict[str, Path]) -> None:
    path = layouts["limesurvey"] / "surveys" / "ice_pulse_ls_2026-10.csv"
    text = path.read_text(encoding="utf-8")
    header = _records(path)[0]
    assert header[:5] == ["id", "token", "submitdate", "lastpage", "startlanguage"]
    assert (
        "How much do you agree with the following about Data & Analytics? [They know their "
        "subject well]" in header
    )
    # Re-serialising with QUOTE_ALL reproduces the file byte for byte: every value is quoted.
    buffer = io.StringIO()
    csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\n").writerows(_records(path))
    assert buffer.getvalue() == text


def test_google_forms_layout_uses_month_first_timestamps_and_crlf(layouts: dict[str, Path]) -> None:
    path = layouts["google_forms"] / "surveys" / "ice_pulse_gf_2026-10.csv"
    raw = path.read_bytes()
    assert raw.count(b"\r\n") >= len(_records(path)) - 1 and not raw.startswith(b"\xef\xbb\xbf")
    records = _records(path)
    assert records[0][0] == "Timestamp"
    assert (
        "How much do you agree with the following about Information Technology? [They respond "
        "quickly to my requests]" in records[0]
    )
    assert all(re.fullmatch(r"10/\d{1,2}/2026 \d{1,2}:\d{2}:\d{2}", r[0]) for r in records[1:])


def test_jira_and_zendesk_layouts(layouts: dict[str, Path]) -> None:
    english = _records(layouts["surveymonkey"] / "tickets" / "jira_issues_2026-10.csv")[0]
    assert english.count("Labels") == 3 and english.count("Sprint") == 2
    assert {
        "Issue key",
        "Summary",
        "Created",
        "Resolved",
        "Priority",
        "Assignee",
        "Reporter",
    } <= set(english)
    german = _records(layouts["google_forms"] / "tickets" / "jira_issues_2026-10.csv")
    assert "Erstellt" in german[0] and german[0].count("Stichwörter") == 3
    mapping = yaml.safe_load(
        (layouts["google_forms"] / "tickets" / "mapping.yaml").read_text(encoding="utf-8")
    )
    assert mapping["columns"]["opened_at"] == "Erstellt" and mapping["priority_values"]["Hoch"] == 2
    zendesk = pd.read_csv(
        layouts["limesurvey"] / "tickets" / "zendesk_tickets_2026-10.csv",
        dtype=str,
        keep_default_na=False,
    )
    assert zendesk["created_at"].str.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:00Z").all()
    assert set(zendesk["priority"]) <= {"urgent", "high", "normal", "low"}
    assert set(zendesk["satisfaction_score"]) <= {"good", "bad", "offered", "unoffered"}


def _canonical_ratings(folder: Path) -> set[tuple]:
    """An independent mini-reader driven by mapping.yaml: a layout's canonical rating tuples."""
    mapping = yaml.safe_load((folder / "surveys" / "mapping.yaml").read_text(encoding="utf-8"))
    spec = mapping["ratings"][0]
    pattern = re.compile(spec["pattern"])
    scale = next(iter(mapping["scales"].values()))
    labels = {label: i + 1 for i, label in enumerate(scale.get("labels", []))}
    not_applicable = {str(v) for v in mapping["not_applicable"]}
    rows: set[tuple] = set()
    for path in sorted((folder / "surveys").glob("*.csv")):
        records = _records(path, "utf-8-sig")
        fmt = mapping["format"]
        if fmt == "qualtrics":
            names, body = records[0], records[3:]
        elif fmt == "surveymonkey":
            names, question = [], ""
            for top, sub in zip(records[0], records[1], strict=True):
                question = top or question
                names.append(
                    question
                    if sub in ("", "Response", "Open-Ended Response")
                    else f"{question} | {sub}"
                )
            body = records[2:]
        else:
            names, body = records[0], records[1:]
        index = {name: i for i, name in enumerate(names)}
        for record in body:
            if fmt == "qualtrics" and (
                record[index["Status"]] != "0" or record[index["Finished"]] != "1"
            ):
                continue
            dept = record[index[mapping["consumer_department"]]]
            dept = mapping.get("consumer_department_values", {}).get(dept, dept)
            when = pd.Timestamp(record[index[mapping["responded_at"]]])
            for name, i in index.items():
                match = pattern.match(name)
                value = record[i]
                if not match or value == "" or value in not_applicable:
                    continue
                provider = spec["providers"][match["provider"]]
                dimension = spec["dimensions"][match["dimension"]]
                number = labels.get(value) or int(value)
                rows.add(
                    (
                        record[index[mapping["respondent_id"]]],
                        dept,
                        provider,
                        dimension,
                        number,
                        match["dimension"] in spec["reversed_dimensions"],
                        when,
                    )
                )
    return rows


def test_every_survey_layout_gives_the_same_canonical_rows(layouts: dict[str, Path]) -> None:
    reference = _canonical_ratings(layouts["qualtrics"])
    assert len(reference) > 5000
    assert any(r[5] for r in reference) and any(
        r[1] == "Chairman's Office" or r[1] == "R&D Platform" for r in reference
    )
    for layout in ("surveymonkey", "limesurvey", "google_forms"):
        assert _canonical_ratings(layouts[layout]) == reference, layout


def _canonical_tickets(folder: Path) -> set[tuple]:
    mapping = yaml.safe_load((folder / "tickets" / "mapping.yaml").read_text(encoding="utf-8"))
    columns = mapping["columns"]
    dayfirst = mapping["date_order"] == "DMY"
    rows: set[tuple] = set()
    for path in sorted((folder / "tickets").glob("*.csv")):
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)  # repeated names get .1, .2
        for record in frame.to_dict("records"):

            def when(key: str, record: dict = record) -> pd.Timestamp | None:
                text = record[columns[key]]
                if not text:
                    return None
                return pd.Timestamp(pd.to_datetime(text, dayfirst=dayfirst)).tz_localize(None)

            priority_text = record[columns["priority"]]
            priority = (
                int(priority_text[0])
                if priority_text[0].isdigit()
                else mapping["priority_values"][priority_text]
            )
            rows.add(
                (
                    when("opened_at"),
                    when("resolved_at"),
                    mapping["provider_departments"][record[columns["assignment_group"]]],
                    record[columns["requester"]],
                    priority,
                    record[columns["sla_met"]].lower() in ("true", "yes"),
                    int(record[columns["reopen_count"]]),
                    record[columns["first_assignee"]] == record[columns["resolved_by"]]
                    if when("resolved_at")
                    else None,
                )
            )
    return rows


def test_every_ticket_layout_gives_the_same_canonical_tickets(layouts: dict[str, Path]) -> None:
    reference = _canonical_tickets(layouts["qualtrics"])  # ServiceNow
    assert len(reference) > 50
    for layout in ("surveymonkey", "limesurvey", "google_forms"):  # Jira en, Zendesk, Jira de
        assert _canonical_tickets(layouts[layout]) == reference, layout


def test_regenerating_in_another_layout_replaces_the_old_files(tmp_path: Path) -> None:
    generate_demo(tmp_path, employees=200, periods=2)
    generate_demo(
        tmp_path, employees=200, periods=2, survey_format="limesurvey", ticket_format="zendesk"
    )
    assert sorted(p.name for p in (tmp_path / "surveys").iterdir()) == [
        "ice_pulse_ls_2026-09.csv",
        "ice_pulse_ls_2026-10.csv",
        "mapping.yaml",
    ]
    assert not list((tmp_path / "tickets").glob("servicenow_*"))


def test_bad_arguments_raise_one_clear_message(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--survey-format.*unknown survey layout 'excel'"):
        generate_demo(tmp_path, survey_format="excel")
    with pytest.raises(ConfigError, match="--end-period"):
        generate_demo(tmp_path, end_period="October")
    with pytest.raises(ConfigError, match="providers_per_respondent"):
        generate_demo(tmp_path, providers_per_respondent=11)
    assert not list(tmp_path.iterdir())  # nothing written


# ------------------------------------------------------------------------------------------
# The enterprise month (issue 7), at a test-friendly size
# ------------------------------------------------------------------------------------------


def test_enterprise_month_everyone_rates_five_providers_on_six_items(tmp_path: Path) -> None:
    summary = generate_enterprise_month(tmp_path, 20_000)
    surveys = summary["rows"]["surveys"]
    assert summary["periods"] == ["2026-10", "2026-10"]
    assert surveys["ratings"] == 30 * surveys["complete_responses"]  # 5 dimensions + overall
    assert 19_900 <= surveys["complete_responses"] <= 20_000  # 100% of those employed on day 1
    assert summary["rows"]["hr_roster"] == 20_000
    assert 19_000 < summary["rows"]["tickets"] < 21_000  # one ticket per employee in the month
    frame = _qualtrics_frame(tmp_path)
    complete = frame[(frame["Status"] == "0") & (frame["Finished"] == "1")]
    rated = complete[[f"Q_{c}_1" for c in PROVIDER_CODES]].ne("").sum(axis=1)
    assert (rated == 5).all()
