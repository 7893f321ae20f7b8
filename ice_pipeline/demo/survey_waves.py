"""Pulse-survey waves: who answered which provider, with what ratings and comments.

Belongs here: drawing one month's respondents, ratings and comments (vectorised; no Python loop
over ratings) into a :class:`SurveyWave`, plus the Qualtrics-only preview and abandoned rows.
How a wave is written as a survey tool's export lives in ``survey_layouts``; the mapping.yaml
for each export in ``survey_mappings``. Every random draw comes from the named streams in
``organisation.stream`` in a fixed order: reordering draws changes the demo data.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ice_pipeline.demo.organisation import (
    DIMENSION_NAMES,
    DIMENSIONS,
    ITEM_SD,
    NOT_APPLICABLE_SHARE,
    OUTCOME_SD,
    PLANTED_DRIVER,
    PLANTED_DRIVER_WEIGHT,
    PROVIDER_BASE_SCORE,
    PROVIDER_NAMES,
    RESPONDENT_PROVIDER_SD,
    Roster,
    month_bounds,
    stream,
)

ALNUM = np.frombuffer(
    b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", dtype=np.uint8
)

# Free-text comments; the tricky ones exercise CSV quoting, formula and HTML injection handling.
COMMENTS: list[str] = [
    "Quick and friendly, thanks.",
    "Took three weeks to get a reply.",
    "Good people, slow process.",
    "Please publish the forms online.",
    "Excellent support during the office move.",
    "Nobody owns my request, it bounces between teams.",
    "Very helpful, solved it on the first call.",
    "Too many approvals needed",
    'They said "we will call you back", and never did.',
    "Line one of my comment\nLine two, with a comma",
    '=HYPERLINK("http://x","y")',
    "<script>alert(1)</script>",
    "Très bien, merci – à bientôt",
    "+1 to what my colleagues said; 50% of tickets are lost",
]
TRICKY_COMMENTS: list[str] = COMMENTS[8:]
COMMENT_SHARE = 0.06  # of (respondent, provider) pairs


@dataclass
class SurveyWave:
    """One month's wave. Row order is the export order; ``kind`` 0 = complete response,
    1 = survey preview, 2 = incomplete (abandoned) response. Ratings hold raw answers:
    0 = not asked / blank, -1 = not applicable, 1..5 = the agree scale (reversed item as asked).
    """

    period: str
    response_key: np.ndarray  # 'R_' + 15 alnum, object
    department: np.ndarray  # index into DEPARTMENTS
    employee: np.ndarray  # index into the roster (-1 for previews)
    start_s: np.ndarray  # datetime64[s]
    end_s: np.ndarray
    recorded_s: np.ndarray
    progress_pct: np.ndarray
    kind: np.ndarray
    ratings: np.ndarray  # (rows, providers, dimensions) int8
    comments: np.ndarray  # (rows, providers) object, '' = none
    sequence_start: int  # first SurveyMonkey respondent number of this wave

    @property
    def complete(self) -> np.ndarray:
        return self.kind == 0


def _response_keys(rng: np.random.Generator, count: int) -> np.ndarray:
    codes = ALNUM[rng.integers(0, ALNUM.size, (count, 15))]
    keys = np.char.add("R_", codes.view("S15").ravel().astype(str)).astype(object)
    if len(set(keys)) != count:  # astronomically unlikely; kept so ids are provably unique
        return _response_keys(rng, count)
    return keys


def _timestamps(
    rng: np.random.Generator, period: str, count: int, first_day: int, last_day: int
) -> np.ndarray:
    start, _ = month_bounds(period)
    day = rng.integers(start + first_day - 1, start + last_day, count).astype("int64")
    second = rng.integers(7 * 3600, 20 * 3600, count)
    return (day * 86400 + second).astype("datetime64[s]")


def _choose_providers(
    rng: np.random.Generator, dept: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Which providers each respondent rates: k random providers, never their own department.

    Returns the (respondents, k) provider indices and whether each slot is a real choice (a slot
    that fell on the respondent's own department is not).
    """
    n_providers = len(PROVIDER_NAMES)
    keys = rng.random((dept.size, n_providers))
    own = dept < n_providers
    keys[np.flatnonzero(own), dept[own]] = 2.0
    chosen = np.argsort(keys, axis=1, kind="stable")[:, :k]
    chosen_valid = np.take_along_axis(keys, chosen, axis=1) < 2.0
    return chosen, chosen_valid


def _rate_items(
    rng: np.random.Generator,
    overall_rng: np.random.Generator,
    points: np.ndarray,
    respondent_effect: np.ndarray,
) -> np.ndarray:
    """Raw answers (respondents, k, dimensions) to each chosen provider, overall item last."""
    n, k = points.shape
    latent = (
        1.0
        + points / 25.0
        + respondent_effect[:, None]
        + rng.normal(0.0, RESPONDENT_PROVIDER_SD, (n, k))
    )
    # The rated dimensions first (the same draws as before the overall item existed), then the
    # overall item from its own stream, driven by the planted driver's own noise.
    n_rated = len(DIMENSIONS) - 1
    noise = rng.normal(0.0, ITEM_SD, (n, k, n_rated))
    items = np.rint(latent[:, :, None] + noise)
    items = np.clip(items, 1, 5).astype(np.int8)
    reversed_mask = np.array([rev for _, _, rev in DIMENSIONS[:n_rated]])
    items[:, :, reversed_mask] = 6 - items[:, :, reversed_mask]
    items[rng.random((n, k, n_rated)) < NOT_APPLICABLE_SHARE] = -1
    driver = DIMENSION_NAMES.index(PLANTED_DRIVER)
    overall = np.rint(
        latent
        + PLANTED_DRIVER_WEIGHT * noise[:, :, driver]
        + overall_rng.normal(0.0, OUTCOME_SD, (n, k))
    )
    return np.concatenate([items, np.clip(overall, 1, 5).astype(np.int8)[:, :, None]], axis=2)


def _spread_answers(
    rng: np.random.Generator, chosen: np.ndarray, chosen_valid: np.ndarray, items: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per-provider ratings (rows, providers, dimensions) and comments (rows, providers)."""
    n, k = chosen.shape
    n_providers, n_dims = len(PROVIDER_NAMES), len(DIMENSIONS)
    # A chosen-but-invalid slot points at the respondent's own department: keep it blank.
    items[~chosen_valid] = 0
    ratings = np.zeros((n, n_providers, n_dims), dtype=np.int8)
    rows = np.repeat(np.arange(n), k)
    ratings[rows, chosen.ravel()] = items.reshape(n * k, n_dims)
    comments = np.full((n, n_providers), "", dtype=object)
    has_comment = (rng.random((n, k)) < COMMENT_SHARE) & chosen_valid
    pick = rng.integers(0, len(COMMENTS), (n, k))
    comment_rows, comment_slots = np.nonzero(has_comment)
    comments[comment_rows, chosen[comment_rows, comment_slots]] = np.array(COMMENTS, dtype=object)[
        pick[comment_rows, comment_slots]
    ]
    return ratings, comments


@dataclass
class _ExtraRows:
    """The Qualtrics-only rows of a wave: previews first, then abandoned responses."""

    n_preview: int
    n_incomplete: int
    employee: np.ndarray  # roster index of each abandoned response
    ratings: np.ndarray
    start_s: np.ndarray
    end_s: np.ndarray
    recorded_s: np.ndarray
    progress_pct: np.ndarray  # of the abandoned responses only


def _extra_rows(
    extras_rng: np.random.Generator, period: str, invited: np.ndarray, n: int
) -> _ExtraRows:
    """Previews (the survey owner testing) and abandoned responses (about 3% of ``n``)."""
    n_providers, n_dims = len(PROVIDER_NAMES), len(DIMENSIONS)
    n_preview = int(extras_rng.integers(2, 5))
    n_incomplete = max(1, int(round(n * 0.03)))
    incomplete_emp = (
        invited[extras_rng.integers(0, invited.size, n_incomplete)]
        if invited.size
        else np.zeros(0, dtype=np.int64)
    )
    extra_ratings = np.zeros((n_preview + n_incomplete, n_providers, n_dims), dtype=np.int8)
    # Previews answer everything with a 3; incomplete responses answered the first provider only.
    extra_ratings[:n_preview] = 3
    extra_ratings[n_preview:, int(extras_rng.integers(0, n_providers)), :] = extras_rng.integers(
        1, 6, (n_incomplete, n_dims)
    )
    extra_start = np.concatenate(
        [
            _timestamps(extras_rng, period, n_preview, 1, 1),
            _timestamps(extras_rng, period, n_incomplete, 2, 20),
        ]
    )
    extra_end = extra_start + extras_rng.integers(20, 120, n_preview + n_incomplete).astype(
        "timedelta64[s]"
    )
    # Qualtrics records an abandoned response when the survey closes (day 25 of the month).
    close_at = np.datetime64(pd.Timestamp(period + "-25 00:00:00"), "s")
    extra_recorded = np.where(np.arange(n_preview + n_incomplete) < n_preview, extra_end, close_at)
    return _ExtraRows(
        n_preview=n_preview,
        n_incomplete=n_incomplete,
        employee=incomplete_emp,
        ratings=extra_ratings,
        start_s=extra_start,
        end_s=extra_end,
        recorded_s=extra_recorded,
        progress_pct=extras_rng.integers(8, 60, n_incomplete),
    )


def simulate_wave(
    seed: int,
    t: int,
    period: str,
    roster: Roster,
    *,
    response_rate: float,
    providers_per_respondent: int,
    score_shift: np.ndarray,
) -> SurveyWave:
    """Draw the wave of period index ``t``.

    ``score_shift`` is (department, provider) points to add to the provider's base this period
    (trends, the dipping department and the company shock, already summed by the caller).
    """
    rng = stream(seed, "surveys", t)
    n_providers = len(PROVIDER_NAMES)
    start_day, _ = month_bounds(period)
    invited = roster.active_on(start_day)
    respondents = invited[rng.random(invited.size) < response_rate]
    n = respondents.size
    dept = roster.department[respondents]

    chosen, chosen_valid = _choose_providers(rng, dept, min(providers_per_respondent, n_providers))
    base = np.array([PROVIDER_BASE_SCORE[p] for p in PROVIDER_NAMES])
    points = base[chosen] + score_shift[dept[:, None], chosen]
    items = _rate_items(
        rng, stream(seed, "overall", t), points, roster.respondent_effect[respondents]
    )
    ratings, comments = _spread_answers(rng, chosen, chosen_valid, items)
    end = _timestamps(rng, period, n, 2, 20)
    duration = np.maximum(40, rng.lognormal(np.log(240), 0.5, n)).astype("int64")

    extra = _extra_rows(stream(seed, "extras", t), period, invited, n)
    n_preview, n_incomplete = extra.n_preview, extra.n_incomplete
    ids_rng = stream(seed, "survey_ids", t)
    total = n + n_preview + n_incomplete
    order = np.argsort(np.concatenate([end, extra.recorded_s]), kind="stable")  # export by time
    return SurveyWave(
        period=period,
        response_key=_response_keys(ids_rng, total)[order],
        department=np.concatenate(
            [dept, np.zeros(n_preview, dtype=np.int64), roster.department[extra.employee]]
        )[order],
        employee=np.concatenate([respondents, np.full(n_preview, -1), extra.employee])[order],
        start_s=np.concatenate([end - duration.astype("timedelta64[s]"), extra.start_s])[order],
        end_s=np.concatenate([end, extra.end_s])[order],
        recorded_s=np.concatenate([end, extra.recorded_s])[order],
        progress_pct=np.concatenate([np.full(n + n_preview, 100), extra.progress_pct])[order],
        kind=np.concatenate(
            [
                np.zeros(n, dtype=np.int8),
                np.ones(n_preview, dtype=np.int8),
                np.full(n_incomplete, 2, dtype=np.int8),
            ]
        )[order],
        ratings=np.concatenate([ratings, extra.ratings])[order],
        comments=np.concatenate(
            [comments, np.full((n_preview + n_incomplete, n_providers), "", dtype=object)]
        )[order],
        sequence_start=int(ids_rng.integers(0, 1000)),
    )
