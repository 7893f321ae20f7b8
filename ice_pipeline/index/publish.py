"""One period's ICE tables as the nightly run publishes them (the body of the ``ice_tables`` step).

What belongs here: putting together, for one period, the score tables from the warehouse's
moments (:mod:`.moments`, through :class:`.warehouse_ratings.WarehouseRatings`), the protection
of an earlier published version (:func:`.versions.protect_publication`) and the trend against the
previous period as it was published. Reading the publication record is
:mod:`ice_pipeline.privacy.records`; writing the tables and the record is the asset's.

The computation takes either kind of ratings (rows in a DataFrame, as the tests and the worked
examples pass them, or a handle on the warehouse): :func:`period_scores` and :func:`with_trend`
pick the pandas path (:mod:`.scoring`) or the moments path, which give the same tables to 1e-9.
"""

from dataclasses import dataclass

import pandas as pd
import sqlalchemy

from ice_pipeline.index import versions
from ice_pipeline.index.config import IndexConfig
from ice_pipeline.index.moments import scores_from_moments, trend_moments
from ice_pipeline.index.scoring import add_trend, compute_period_scores, trend_from_moments
from ice_pipeline.index.versions import Publication, PublishedRecord, Ratings
from ice_pipeline.index.warehouse_ratings import WarehouseRatings

TREND_TABLES = ("ice_scores", "company_scores")


def period_scores(
    ratings: Ratings, period: str, service_kpis: pd.DataFrame | None, config: IndexConfig
) -> dict[str, pd.DataFrame]:
    """The five score tables of ``period`` (suppressed and ranked, no trend) from its ratings."""
    if isinstance(ratings, pd.DataFrame):
        return compute_period_scores(ratings, service_kpis, config)
    return scores_from_moments(ratings.moments(), period, service_kpis, config)


def with_trend(
    current: pd.DataFrame,
    previous: pd.DataFrame | None,
    current_ratings: Ratings,
    previous_ratings: Ratings | None,
    config: IndexConfig,
) -> pd.DataFrame:
    """:func:`.scoring.add_trend` for either kind of ratings."""
    if isinstance(current_ratings, pd.DataFrame):
        return add_trend(current, previous, current_ratings, previous_ratings, config)
    usable = not (
        previous is None
        or previous.empty
        or previous_ratings is None
        or previous_ratings.empty
        or current.empty
        or current_ratings.empty
    )
    by_provider = "provider_department" in current.columns
    return trend_from_moments(
        current,
        previous,
        trend_moments(current_ratings.moments(), by_provider) if usable else None,
        trend_moments(previous_ratings.moments(), by_provider) if usable else None,
        config,
    )


@dataclass(frozen=True)
class PreviousPeriod:
    """The previous period as published: its ratings (held-back respondents left out) and tables."""

    ratings: Ratings | None
    tables: dict[str, pd.DataFrame] | None


def previous_as_published(
    ratings: Ratings, period: str, record: PublishedRecord | None, config: IndexConfig
) -> PreviousPeriod:
    """The previous period's ratings and tables the trend compares with.

    Its published/suppressed state comes from the same computation on its ratings (respondents
    held back there stay out), so the trend needs no read of the score tables' own earlier
    partitions; figures that are not as published are hidden (:func:`.versions.align_previous`).
    """
    basis = versions.published_basis(ratings, record)
    if basis.empty:
        return PreviousPeriod(None, None)
    tables = versions.align_previous(period_scores(basis, period, None, config), record)
    return PreviousPeriod(basis, tables)


def publish_period(
    ratings: Ratings,
    period: str,
    record: PublishedRecord | None,
    previous: PreviousPeriod,
    service_kpis: pd.DataFrame | None,
    config: IndexConfig,
) -> Publication:
    """What to publish for ``period``: protected against its earlier version, with the trend."""
    # Looked up on the module at call time: a test replaces it with the pre-issue-11 behaviour.
    publication = versions.protect_publication(
        ratings,
        lambda rows: period_scores(rows, period, service_kpis, config),
        record,
        k=config.k_min_respondents,
        policy=config.late_responses,
    )
    if publication.decision != "kept_published":  # kept figures keep their trend as well
        for name in TREND_TABLES:
            publication.tables[name] = with_trend(
                publication.tables[name],
                previous.tables[name] if previous.tables else None,
                publication.basis,
                previous.ratings,
                config,
            )
    return publication


def publish_from_warehouse(
    engine: sqlalchemy.Engine,
    period: str,
    previous_period: str,
    service_kpis: pd.DataFrame | None,
    config: IndexConfig,
) -> Publication:
    """:func:`publish_period` on the warehouse's moments: no rating row is read into Python.

    The moments and hashes run on each period's compute engine (``warehouse/compute.py``: on
    PostgreSQL a checked local DuckDB copy of the period, rebuilt when missing or stale; the
    previous period's copy only when valid, else PostgreSQL); the publication records are read
    from the warehouse.
    """
    from ice_pipeline.privacy.records import read_record
    from ice_pipeline.warehouse.compute import period_compute

    with (
        period_compute(engine, period) as current,
        period_compute(engine, previous_period, rebuild=False) as before,
    ):
        previous = previous_as_published(
            WarehouseRatings(before, previous_period),
            previous_period,
            read_record(engine, previous_period),
            config,
        )
        return publish_period(
            WarehouseRatings(current, period),
            period,
            read_record(engine, period),
            previous,
            service_kpis,
            config,
        )
