"""The ICE tables on warehouse moments decide and publish what the pandas path did, both engines.

``ice_tables`` used to read both periods' rating rows and run :func:`protect_publication` and the
trend on them; it now works on :class:`WarehouseRatings` (moments and respondent hashes computed
by the warehouse, held-back respondents as a filter in the SQL). Each scenario here runs the
previous asset body on the rows (``rows_publication``, kept verbatim as the reference) and the
new path on the warehouse, and compares decisions, counts, hashes and tables to 1e-9.
"""

from collections.abc import Iterator

import pandas as pd
import pytest
import sqlalchemy

from ice_pipeline.index.answer_hashes import answer_hashes
from ice_pipeline.index.config import IndexConfig
from ice_pipeline.index.publish import previous_as_published, publish_period
from ice_pipeline.index.scoring import add_trend, compute_period_scores
from ice_pipeline.index.versions import (
    Publication,
    PublishedRecord,
    align_previous,
    protect_publication,
    published_basis,
    respondent_count,
    respondent_hashes,
)
from ice_pipeline.index.warehouse_ratings import WarehouseRatings
from ice_pipeline.warehouse import schema
from ice_pipeline.warehouse.engine import connect_warehouse
from ice_pipeline.warehouse.migrate import upgrade
from ice_pipeline.warehouse.writes import replace_partition
from ice_pipeline_tests.test_index_moments import PERIODS, assert_same_tables, random_organisation

BEFORE, NOW = PERIODS
KPIS = pd.DataFrame(
    {"period": NOW, "provider_department": ["IT", "HR"], "ice_k": [71.5, 55.0], "tickets_n": [3, 1]}
)


def rows_publication(
    ratings: pd.DataFrame,
    previous_ratings: pd.DataFrame,
    record: PublishedRecord | None,
    previous_record: PublishedRecord | None,
    config: IndexConfig,
) -> Publication:
    """The ice_tables asset body before the moments path, on rating rows."""
    previous_ratings = published_basis(previous_ratings, previous_record)
    publication = protect_publication(
        ratings,
        lambda rows: compute_period_scores(rows, KPIS, config),
        record,
        k=config.k_min_respondents,
        policy=config.late_responses,
    )
    previous = (
        align_previous(compute_period_scores(previous_ratings, None, config), previous_record)
        if not previous_ratings.empty
        else None
    )
    if publication.decision != "kept_published":
        for name in ("ice_scores", "company_scores"):
            publication.tables[name] = add_trend(
                publication.tables[name],
                previous[name] if previous else None,
                publication.basis,
                previous_ratings if previous else None,
                config,
            )
    return publication


@pytest.fixture
def engine(warehouse_url: str) -> Iterator[sqlalchemy.Engine]:
    upgrade(warehouse_url)
    engine = connect_warehouse(warehouse_url)
    yield engine
    engine.dispose()


def _store(engine: sqlalchemy.Engine, frame: pd.DataFrame) -> None:
    period = str(frame["period"].iloc[0])
    replace_partition(engine, schema.survey_ratings, frame, {"period": period})


def _record(rows: pd.DataFrame, config: IndexConfig) -> PublishedRecord:
    """What a first run on ``rows`` recorded (the trend is not part of the figures compared)."""
    return PublishedRecord(1, compute_period_scores(rows, KPIS, config), answer_hashes(rows))


def _compare(expected: Publication, actual: Publication) -> None:
    assert (actual.decision, actual.version, actual.new_version) == (
        expected.decision,
        expected.version,
        expected.new_version,
    )
    assert actual.changes == expected.changes
    assert (actual.late_ratings, actual.held_respondents) == (
        expected.late_ratings,
        expected.held_respondents,
    )
    assert actual.findings == expected.findings
    assert respondent_count(actual.basis) == respondent_count(expected.basis)
    assert (
        respondent_hashes(actual.basis)
        .sort_index()
        .equals(respondent_hashes(expected.basis).sort_index())
    )
    assert_same_tables(actual.tables, expected.tables)


def _both(
    engine: sqlalchemy.Engine,
    now: pd.DataFrame,
    before: pd.DataFrame,
    record: PublishedRecord | None,
    previous_record: PublishedRecord | None,
    config: IndexConfig,
) -> tuple[Publication, Publication]:
    _store(engine, now)
    _store(engine, before)
    expected = rows_publication(now, before, record, previous_record, config)
    previous = previous_as_published(
        WarehouseRatings(engine, BEFORE), BEFORE, previous_record, config
    )
    actual = publish_period(WarehouseRatings(engine, NOW), NOW, record, previous, KPIS, config)
    return expected, actual


def test_first_publication_with_the_trend_against_the_previous_period_as_published(
    engine: sqlalchemy.Engine,
) -> None:
    config = IndexConfig()
    now, before = random_organisation(NOW, 1), random_organisation(BEFORE, 0)
    # The previous period was published without three of its Sales respondents (held late).
    held = {f"Sales-{i}-0" for i in range(3)}
    previous_record = _record(before[~before["respondent_id"].isin(held)], config)
    expected, actual = _both(engine, now, before, None, previous_record, config)
    _compare(expected, actual)
    assert actual.decision == "first"
    assert actual.tables["ice_scores"]["ice_p_change"].notna().any()
    # Without the previous period's own record, its late respondents would move the trend.
    unprotected = rows_publication(now, before, None, None, config)
    change = actual.tables["company_scores"]["ice_p_change"].iloc[0]
    assert change != pytest.approx(unprotected.tables["company_scores"]["ice_p_change"].iloc[0])


def _late_department(period: str, size: int) -> pd.DataFrame:
    """``size`` late respondents of a department not seen before, all rating IT on everything."""
    rows = random_organisation(period, 1).head(size * 4).copy()
    rows["respondent_id"] = [f"late-{i // 4}" for i in range(size * 4)]
    rows["consumer_department"], rows["provider_department"] = "Latecomers", "IT"
    rows["dimension"] = ["quality", "responsiveness", "speed", "communication"] * size
    return rows


@pytest.mark.parametrize(
    ("policy", "late", "decision"),
    [
        ("hold", 1, "held"),
        ("republish_when_k", 1, "held"),
        ("republish_when_k", 40, "held"),
        ("republish_when_k", "department", "republished"),
        ("hold", "department", "held"),
    ],
)
def test_late_respondents_are_held_or_republished_as_with_rows(
    engine: sqlalchemy.Engine, policy: str, late: int | str, decision: str
) -> None:
    config = IndexConfig(late_responses=policy)
    now, before = random_organisation(NOW, 1), random_organisation(BEFORE, 0)
    published = now
    if late == "department":  # every figure they touch moves by k + 1 (or is new)
        now = pd.concat([now, _late_department(NOW, config.k_min_respondents + 1)])
        now["source_row"] = range(len(now))
    else:
        published = now[~now["respondent_id"].isin({f"Sales-{i}-1" for i in range(late)})]
    expected, actual = _both(engine, now, before, _record(published, config), None, config)
    _compare(expected, actual)
    assert actual.decision == decision
    late_rows = len(now) - len(published)
    assert (
        len(actual.changes.late)
        == now["respondent_id"].nunique() - published["respondent_id"].nunique()
    )
    assert actual.late_ratings == (late_rows if decision == "held" else 0)


def test_changed_answers_keep_the_published_figures_as_with_rows(
    engine: sqlalchemy.Engine,
) -> None:
    config = IndexConfig()
    now, before = random_organisation(NOW, 1), random_organisation(BEFORE, 0)
    record = _record(now, config)
    changed = now.copy()
    first = changed.index[changed["respondent_id"] == "Ops-0-1"][0]
    changed.loc[first, "score"] = 0.0 if changed.loc[first, "score"] else 100.0
    expected, actual = _both(engine, changed, before, record, _record(before, config), config)
    _compare(expected, actual)
    assert actual.decision == "kept_published" and actual.changes.changed == ["Ops-0-1"]


def test_warehouse_hashes_and_filters_equal_the_rows(engine: sqlalchemy.Engine) -> None:
    now = random_organisation(NOW, 1)
    _store(engine, now)
    ratings = WarehouseRatings(engine, NOW)
    assert ratings.answer_hashes().sort_index().equals(answer_hashes(now).sort_index())
    some = sorted(set(now["respondent_id"]))[:25]
    without = ratings.without(some)
    fresh = WarehouseRatings(engine, NOW, excluded=some)  # queried, not derived
    rows_without = now[~now["respondent_id"].isin(some)]
    for handle in (without, fresh):
        assert handle.answer_hashes().sort_index().equals(answer_hashes(rows_without).sort_index())
        company = handle.moments().query("grain == 'company'")["n"].iloc[0]
        assert company == rows_without["respondent_id"].nunique()
    only = ratings.limited_to(some)
    assert only.rating_counts().sum() == now["respondent_id"].isin(some).sum()
    queried = WarehouseRatings(engine, NOW, only=some).rating_counts()
    assert queried.sort_index().equals(only.rating_counts().sort_index())
    assert WarehouseRatings(engine, "2025-01").empty
    assert WarehouseRatings(engine, "2025-01").answer_hashes().empty
