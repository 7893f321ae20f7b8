"""Issue 16 item 6: a drafted mapping, TODOs filled, reproduces every hand-written realdata mapping.

``fill_todos`` replaces exactly the TODOs (an answer for a key the draft decided is refused), so
everything else in the draft (feed, layout, ids, dates and their order, departments, N/A and
missing-value codes, columns) was inferred from the file alone.
"""

import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest
import yaml

from ice_pipeline.ingest.draft import TODO, draft_mapping, fill_todos
from ice_pipeline.ingest.feeds import read_export

MAPPINGS = Path(__file__).resolve().parent / "fixtures" / "mappings"
NOW = datetime(2026, 11, 15)
SALT = "draft-salt"


def _fixture(name: str) -> dict:
    return yaml.safe_load((MAPPINGS / name).read_text(encoding="utf-8"))


def _survey_answers(name: str, **todo: object) -> dict:
    fixture = _fixture(name)
    return {
        "scales": fixture.get("scales", {}),
        "ratings": fixture["ratings"],
        "comments": fixture.get("comments", []),
        **todo,
    }


# file, feed forced (as --feed), fixture mapping, the answers to the draft's TODOs
CASES = {
    "qualtrics": (
        "qualtrics_qualtrics_pkg/sample.csv",
        None,
        "qualtrics_sample.mapping.yaml",
        _survey_answers("qualtrics_sample.mapping.yaml", consumer_department_fixed="All"),
    ),
    "qualtrics_legacy": (
        "qualtrics_qualtrics_pkg/sample_legacy.csv",
        None,
        "qualtrics_legacy_sample.mapping.yaml",
        _survey_answers("qualtrics_legacy_sample.mapping.yaml", consumer_department_fixed="All"),
    ),
    "starwars": (
        "surveymonkey_fivethirtyeight/StarWars.csv",
        None,
        "starwars.mapping.yaml",
        _survey_answers("starwars.mapping.yaml", period_value="2014-06"),
    ),
    "steak": (
        "surveymonkey_fivethirtyeight/steak-risk-survey.csv",
        None,
        "steak.mapping.yaml",
        _survey_answers("steak.mapping.yaml", period_value="2014-05"),
    ),
    "carpentries_survey": (
        "nps_carpentries_surveys/20180908_post_clean.csv",
        None,
        "carpentries_post_survey.mapping.yaml",
        _survey_answers("carpentries_post_survey.mapping.yaml"),
    ),
    "carpentries_post_external": (
        "nps_carpentries_surveys/20180908_post_clean.csv",
        "external",
        "external_carpentries_post.mapping.yaml",
        {"columns.business_unit": "MemberSite", "business_unit_departments": {}},
    ),
    "carpentries_longterm_external": (
        "nps_carpentries_surveys/2020-12-long-term-other_questions-no-open.csv",
        "external",
        "external_carpentries_longterm.mapping.yaml",
        {
            "columns.business_unit": "workshop_attended_type",
            "period_value": "2020-12",
            "business_unit_departments": _fixture("external_carpentries_longterm.mapping.yaml")[
                "business_unit_departments"
            ],
        },
    ),
    "ibm_attrition": (
        "hr_ibm_attrition/emp_attrition.csv",
        None,
        "hr_ibm_attrition.mapping.yaml",
        {"snapshot_period": "2017-12"},
    ),
    "servicenow_audit": (
        "tickets_servicenow_incident_log/incident_event_log.csv",
        None,
        "tickets_servicenow_incident_log.mapping.yaml",
        {"provider_departments": None, "first_assignee_rule": "last_assignee"},
    ),
}


def test_every_realdata_file_has_a_round_trip(realdata_dir: Path) -> None:
    covered = {relative for relative, _feed, _mapping, _answers in CASES.values()}
    assert covered == {str(p.relative_to(realdata_dir)) for p in realdata_dir.glob("*/*.csv")}
    assert {mapping for _r, _f, mapping, _a in CASES.values()} == {
        p.name for p in MAPPINGS.glob("*.yaml")
    }


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_filled_draft_reproduces_the_hand_written_mapping(
    realdata_dir: Path, tmp_path: Path, case: str
) -> None:
    relative, feed, fixture, answers = CASES[case]
    export = realdata_dir / relative
    draft = draft_mapping(export, feed)
    assert TODO in draft.render() and draft.render().count("\n# ") >= 3  # comments say why
    filled = fill_todos(yaml.safe_load(draft.render()), answers)
    drafted = tmp_path / "drafted.mapping.yaml"
    drafted.write_text(yaml.safe_dump(filled, sort_keys=False), encoding="utf-8")
    ours = read_export(export, mapping_path=drafted, salt=SALT, now=NOW)
    theirs = read_export(export, mapping_path=MAPPINGS / fixture, salt=SALT, now=NOW)
    assert (ours.feed, ours.file_format) == (theirs.feed, theirs.file_format)
    assert ours.counts == theirs.counts
    assert ours.quarantined_by_reason == theirs.quarantined_by_reason
    assert ours.excluded_by_reason == theirs.excluded_by_reason
    assert sorted(ours.tables) == sorted(theirs.tables)
    for name, frame in theirs.tables.items():
        assert len(frame) > 0 or name == "survey_comments", name
        pd.testing.assert_frame_equal(
            ours.tables[name].reset_index(drop=True), frame.reset_index(drop=True)
        )


def test_an_answer_for_a_decided_key_is_refused() -> None:
    with pytest.raises(KeyError, match="not TODO"):
        fill_todos({"feed": "hr", "snapshot_period": TODO}, {"snapshot_period": "x", "feed": "y"})
    with pytest.raises(KeyError, match="has no answer"):
        fill_todos({"feed": "hr", "snapshot_period": TODO}, {})


def test_the_cli_prints_the_draft(realdata_dir: Path) -> None:
    cli = Path(sys.executable).parent / "ice-pipeline"
    done = subprocess.run(
        [
            str(cli),
            "inspect",
            str(realdata_dir / "hr_ibm_attrition" / "emp_attrition.csv"),
            "--draft-mapping",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    drafted = yaml.safe_load(done.stdout)
    assert drafted["format"] == "snapshot" and drafted["snapshot_period"] == TODO
    assert drafted["columns"]["attrited"] == "Attrition"
