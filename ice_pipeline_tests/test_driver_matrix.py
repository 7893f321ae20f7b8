"""Key drivers from the warehouse: the per-respondent matrix in SQL, never the answers in pandas.

``driver_matrix`` collapses a period's ratings in the engine to one row per (respondent,
provider). These tests hold, on both engines, that it equals an independent pandas pivot of the
same answers (values, "not applicable" gaps, row order in code points whatever the database's
collation), that the key-driver table from it is exactly the table from the rows (bootstrap
included: same seed, same respondent order), and that the Dagster asset reads the matrix (as
many rows as respondent-provider pairs) and never the answers.
"""

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy

from ice_pipeline.index.driver_matrix import driver_matrix, matrix_from_ratings
from ice_pipeline.index.drivers import DriverSettings, key_drivers, key_drivers_from_matrix
from ice_pipeline.warehouse import schema
from ice_pipeline.warehouse.engine import connect_warehouse
from ice_pipeline.warehouse.migrate import upgrade
from ice_pipeline.warehouse.writes import replace_partition

PERIOD, OTHER = "2026-10", "2026-09"
# Names whose code-point order differs from a linguistic collation's (case, accents,
# punctuation): the matrix's row order must not depend on the database's collation.
PROVIDERS = ["IT", "hr", "Facilities & Site", "_Legal", "Ärzte"]
DIMENSIONS = ["communication", "effort", "Expertise", "quality"]


def _ratings(period: str, respondents: int, seed: int) -> pd.DataFrame:
    """survey_ratings rows: 2-3 providers per respondent, gaps, an overall item led by quality."""
    rng = np.random.default_rng(seed)
    rows = []
    for r in range(respondents):
        respondent = f"{'rR'[r % 2]}{r}"  # r0, R1, r2, ... r10 sorts before r2
        for provider in rng.choice(PROVIDERS, size=2 + r % 2, replace=False):
            latent = rng.normal(60, 12)
            own = {d: rng.normal(0, 8) for d in DIMENSIONS}
            overall = latent + own["quality"] + rng.normal(0, 4)
            for dimension, score in [
                *((d, latent + own[d]) for d in DIMENSIONS),
                ("overall", overall),
            ]:
                if rng.random() < 0.05:
                    continue  # not applicable
                rows.append((respondent, str(provider), dimension, float(np.clip(score, 0, 100))))
    frame = pd.DataFrame(
        rows, columns=["respondent_id", "provider_department", "dimension", "score"]
    )
    return frame.assign(
        period=period,
        consumer_department="Sales",
        rating_raw=frame["score"],
        scale_min=0.0,
        scale_max=100.0,
        reversed=False,
        favourable=frame["score"] >= 75,
        responded_at=pd.NaT,
        source_file="survey.csv",
        source_sha256="a" * 64,
        source_row=pd.factorize(frame["respondent_id"])[0] + 2,
    )[[column.name for column in schema.survey_ratings.columns]]


@pytest.fixture
def loaded(warehouse_url: str) -> Iterator[tuple[sqlalchemy.Engine, pd.DataFrame]]:
    upgrade(warehouse_url)
    engine = connect_warehouse(warehouse_url)
    ratings = _ratings(PERIOD, 160, seed=1)
    replace_partition(engine, schema.survey_ratings, ratings, {"period": PERIOD})
    other = _ratings(OTHER, 50, seed=2)  # another period in the same tables: must not leak in
    replace_partition(engine, schema.survey_ratings, other, {"period": OTHER})
    yield engine, ratings
    engine.dispose()


def _pandas_pivot(ratings: pd.DataFrame) -> pd.DataFrame:
    """The expected matrix, independently: a pivot of the answers, rows sorted by Python."""
    wide = ratings.pivot_table(
        index=["respondent_id", "provider_department"],
        columns="dimension",
        values="score",
        aggfunc="mean",
    )
    return wide.loc[sorted(wide.index), sorted(wide.columns)]


def test_the_matrix_from_sql_equals_a_pandas_pivot_of_the_answers(
    loaded: tuple[sqlalchemy.Engine, pd.DataFrame],
) -> None:
    engine, ratings = loaded
    expected = _pandas_pivot(ratings)
    with engine.connect() as connection:  # a connection works as well as an engine
        from_connection = driver_matrix(connection, PERIOD)
    for matrix in (driver_matrix(engine, PERIOD), from_connection, matrix_from_ratings(ratings)):
        assert len(matrix) == len(expected) < len(ratings) / 3
        assert matrix.dimensions == [*sorted(DIMENSIONS + ["overall"])]
        names = expected.index.get_level_values("respondent_id")
        assert (matrix.respondents == pd.factorize(names)[0]).all()
        assert matrix.provider_names == sorted(PROVIDERS)
        named = [matrix.provider_names[code] for code in matrix.providers]
        assert named == list(expected.index.get_level_values("provider_department"))
        np.testing.assert_array_equal(matrix.scores, expected.to_numpy())  # NaN where N/A
    assert np.isnan(expected.to_numpy()).any()
    assert len(driver_matrix(engine, "1999-01")) == 0


def test_key_drivers_from_the_warehouse_are_exactly_those_from_the_rows(
    loaded: tuple[sqlalchemy.Engine, pd.DataFrame],
) -> None:
    engine, ratings = loaded
    settings = DriverSettings(bootstrap_replicates=60, min_respondents=30)
    from_rows = key_drivers(ratings.sample(frac=1, random_state=3), PERIOD, 5, settings)
    from_sql = key_drivers_from_matrix(driver_matrix(engine, PERIOD), PERIOD, 5, settings)
    published = from_rows[~from_rows["suppressed"]]
    assert published["provider_department"].nunique() >= 3
    assert published["importance_pct_ci_low"].notna().all()
    pd.testing.assert_frame_equal(from_sql, from_rows)  # no tolerance: same bits


def test_the_asset_reads_one_row_per_respondent_and_provider_not_the_answers(
    loaded: tuple[sqlalchemy.Engine, pd.DataFrame],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import dagster as dg

    from ice_pipeline.defs.assets_drivers import key_drivers as key_drivers_asset
    from ice_pipeline.defs.resources import (
        PipelineSettingsResource,
        WarehouseResource,
        dispose_engines,
    )
    from ice_pipeline.index import driver_matrix as matrix_module
    from ice_pipeline.warehouse import writes

    engine, ratings = loaded

    def refusing(read: Callable[..., object]) -> Callable[..., object]:
        """``read``, failing for anything about the survey answers (the run log reads its own)."""

        def checked(*args: object, **kwargs: object) -> object:
            if "survey_" in " ".join(str(getattr(a, "name", a)) for a in args[:2]):
                raise AssertionError(f"key_drivers read survey rows into pandas: {args[:2]}")
            return read(*args, **kwargs)

        return checked

    for module, name in ((writes, "read_frame"), (pd, "read_sql"), (pd, "read_sql_query")):
        monkeypatch.setattr(module, name, refusing(getattr(module, name)))
    matrices = []
    dialects = []
    real_driver_matrix = matrix_module.driver_matrix

    def spy(conn_or_engine: sqlalchemy.Engine, period: str) -> object:
        dialects.append(conn_or_engine.dialect.name)
        matrices.append(real_driver_matrix(conn_or_engine, period))
        return matrices[-1]

    monkeypatch.setattr(matrix_module, "driver_matrix", spy)
    try:
        result = dg.materialize(
            [key_drivers_asset],
            partition_key=PERIOD,
            resources={
                "warehouse": WarehouseResource(url=engine.url.render_as_string(False)),
                "pipeline": PipelineSettingsResource(data_dir=str(tmp_path)),
            },
            instance=dg.DagsterInstance.ephemeral(),
        )
    finally:
        dispose_engines()
    assert result.success
    pairs = ratings[["respondent_id", "provider_department"]].drop_duplicates()
    assert [len(m) for m in matrices] == [len(pairs)]
    # PostgreSQL too: the matrix is computed in the period's local DuckDB copy (issue 13 item 5).
    assert dialects == ["duckdb"]
    with engine.connect() as connection:
        written = connection.execute(
            sqlalchemy.text("SELECT count(*) FROM ice.key_drivers WHERE period = :period"),
            {"period": PERIOD},
        ).scalar_one()
    assert written == (1 + len(PROVIDERS)) * len(DIMENSIONS)  # company and each provider
