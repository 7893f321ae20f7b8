"""The fictional organisation: its departments, teams, people and the effects planted in it.

Belongs here: the constant catalogue (departments and their sizes, service providers, ticket
teams, business units, survey dimensions; the name lists are in ``names.py``), the
planted-effect parameters, and the vectorised simulation of the HR roster over the window.
Writing files in a tool's layout does not belong here (see ``surveys.py``, ``tickets.py``,
``hr.py``, ``external.py``).

Every random draw goes through :func:`stream`, one independent numpy generator per purpose, so
that changing e.g. the ticket volume never changes the survey answers of the same seed.
"""

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

# The roster draws from these lists; other demo modules and tests import them from here too.
from ice_pipeline.demo.names import FIRST_NAMES, LAST_NAMES, LOCATIONS

# --------------------------------------------------------------------------------------------
# Catalogue
# --------------------------------------------------------------------------------------------

# (name, short code used in Qualtrics export tags, share of employees in %)
PROVIDERS: list[tuple[str, str, float]] = [
    ("Information Technology", "IT", 7.0),
    ("Human Resources", "HR", 3.0),
    ("Finance", "FIN", 3.5),
    ("Procurement", "PROC", 1.5),
    ("Facilities", "FAC", 2.0),
    ("Legal", "LEG", 0.8),
    ("Payroll", "PAY", 0.9),
    ("Security", "SEC", 1.2),
    ("Data & Analytics", "DA", 2.5),
    ("Communications", "COMM", 0.7),
]

# Consumer-only departments. Several are under 20 people at the default 2,000 employees so that
# matrix cells get suppressed; "Chairman's Office" and the ampersands exercise escaping.
CONSUMERS: list[tuple[str, float]] = [
    ("Sales North", 8.0),
    ("Sales South", 6.0),
    ("Retail Banking Ops", 9.0),
    ("Customer Support", 9.0),
    ("Marketing", 4.0),
    ("R&D Platform", 8.0),
    ("Product Management", 3.0),
    ("Logistics", 5.0),
    ("Manufacturing", 6.0),
    ("Quality Assurance", 3.0),
    ("Wealth Management", 4.0),
    ("Claims Processing", 5.0),
    ("Risk & Compliance", 2.5),
    ("Customer Success", 3.0),
    ("Field Service", 3.0),
    ("Treasury", 1.0),
    ("Corporate Strategy", 0.6),
    ("Internal Audit", 0.5),
    ("Investor Relations", 0.4),
    ("Chairman's Office", 0.3),
]

PROVIDER_NAMES: list[str] = [name for name, _, _ in PROVIDERS]
PROVIDER_CODES: list[str] = [code for _, code, _ in PROVIDERS]
DEPARTMENTS: list[str] = PROVIDER_NAMES + [name for name, _ in CONSUMERS]
DEPARTMENT_SHARES_PCT: np.ndarray = np.array(
    [s for _, _, s in PROVIDERS] + [s for _, s in CONSUMERS]
)

# (dimension, statement shown to the respondent, reversed). The reversed item is worded so that
# agreeing is bad; its raw answer is 6 - the respondent's underlying satisfaction.
DIMENSIONS: list[tuple[str, str, bool]] = [
    ("responsiveness", "They respond quickly to my requests", False),
    ("quality", "The work they deliver is of high quality", False),
    ("communication", "They keep me informed about progress", False),
    ("expertise", "They know their subject well", False),
    ("effort", "It took too much effort to get what I needed", True),
    # The outcome of the key-driver analysis (issue 14); always the last dimension.
    ("overall", "Overall, I am satisfied with their service", False),
]
DIMENSION_NAMES: list[str] = [d for d, _, _ in DIMENSIONS]
REVERSED_DIMENSION = "effort"
# Key drivers: the overall item follows the common latent score plus this share of the planted
# driver's own item noise (the part of that item the other dimensions do not share), plus noise.
OUTCOME_DIMENSION = "overall"
PLANTED_DRIVER = "responsiveness"
PLANTED_DRIVER_WEIGHT = 1.0
OUTCOME_SD = 0.3

# Ticket teams per provider department, and each provider's share of all tickets.
TICKET_GROUPS: dict[str, list[str]] = {
    "Information Technology": [
        "Service Desk",
        "End User Computing",
        "Network Operations",
        "Identity & Access",
    ],
    "Human Resources": ["HR Operations", "Talent Acquisition", "Employee Relations"],
    "Finance": ["Accounts Payable", "Financial Control", "Expenses Team"],
    "Procurement": ["Purchasing", "Supplier Management"],
    "Facilities": ["Workplace Services", "Building Maintenance"],
    "Legal": ["Contracts Desk", "Legal Counsel"],
    "Payroll": ["Payroll Services", "Payroll Queries"],
    "Security": ["Security Operations", "Physical Security"],
    "Data & Analytics": ["BI & Reporting", "Data Platform"],
    "Communications": ["Internal Comms", "Brand Studio"],
}
TICKET_SHARE: dict[str, float] = {
    "Information Technology": 0.38,
    "Human Resources": 0.12,
    "Finance": 0.08,
    "Procurement": 0.06,
    "Facilities": 0.10,
    "Legal": 0.03,
    "Payroll": 0.07,
    "Security": 0.06,
    "Data & Analytics": 0.07,
    "Communications": 0.03,
}

# External business units and the consumer department each one maps to.
BUSINESS_UNITS: dict[str, str] = {
    "Retail Banking": "Retail Banking Ops",
    "Business Banking": "Sales North",
    "Wealth Management": "Wealth Management",
    "Insurance": "Claims Processing",
    "Digital Channels": "Marketing",
}


# --------------------------------------------------------------------------------------------
# Planted effects (all on the 0-100 score scale unless the name says otherwise)
# --------------------------------------------------------------------------------------------

PROVIDER_BASE_SCORE: dict[str, float] = {  # level at the start of the window (0-100)
    "Information Technology": 50.0,
    "Human Resources": 62.0,
    "Finance": 58.0,
    "Procurement": 66.0,
    "Facilities": 66.0,
    "Legal": 60.0,
    "Payroll": 52.0,
    "Security": 64.0,
    "Data & Analytics": 57.0,
    "Communications": 61.0,
}
IMPROVING_PROVIDERS: list[str] = ["Information Technology", "Payroll"]
DECLINING_PROVIDERS: list[str] = ["Facilities", "Procurement"]
PROVIDER_TREND_POINTS = 15.0  # total change over the whole window, linear

DIP_DEPARTMENT = "Customer Support"
# (fraction of the window, satisfaction shift in points) knots; at 24 periods these are months
# 0, 5, 14, 19, 23 (0-based): flat, falls over months ~6-14, partly recovers.
DIP_KNOTS: list[tuple[float, float]] = [
    (0.0, 0.0),
    (5 / 23, 0.0),
    (14 / 23, -22.0),
    (19 / 23, -8.0),
    (1.0, -8.0),
]
DIP_TURNOVER_LAG_PERIODS = 2
DIP_TURNOVER_PER_POINT = 0.13  # voluntary rate multiplier: 1 + 0.13 * (points lost, lagged)

BASE_VOLUNTARY_MONTHLY = 0.011
BASE_INVOLUNTARY_MONTHLY = 0.004
RETIREMENT_SHARE_OF_VOLUNTARY = 0.06

COMPANY_SHOCK_SD_POINTS = 3.0  # AR(1) company-wide shift of every rating, detrended
COMPANY_SHOCK_AR = 0.3
NULL_BUSINESS_UNIT = "Wealth Management"
CSAT_LAG_PERIODS = 1
CSAT_PCT_PER_ICE_POINT = 1.5  # top-2-box % points per point of company shock, lagged
NPS_PER_ICE_POINT = 1.5  # NPS points per point of company shock, lagged

# Respondent-level noise on the 1-5 scale.
RESPONDENT_SD = 0.45
RESPONDENT_PROVIDER_SD = 0.35
ITEM_SD = 0.55
NOT_APPLICABLE_SHARE = 0.04

STREAMS = {
    "roster": 1,
    "names": 2,
    "surveys": 3,
    "tickets": 4,
    "external": 5,
    "shock": 6,
    "survey_ids": 7,
    "extras": 8,
    "overall": 9,
}


def stream(seed: int, purpose: str, period_index: int = 0) -> np.random.Generator:
    """An independent generator per (seed, purpose, period): adding a feed never shifts another."""
    return np.random.default_rng([seed, STREAMS[purpose], period_index])


# --------------------------------------------------------------------------------------------
# Time
# --------------------------------------------------------------------------------------------


def period_list(end_period: str, periods: int) -> list[str]:
    """``periods`` monthly keys ending at ``end_period`` (YYYY-MM), oldest first."""
    end = pd.Period(end_period, freq="M")
    return [str(end - i) for i in range(periods - 1, -1, -1)]


def window_fraction(periods: int) -> np.ndarray:
    """Position of each period in the window, 0 at the first and 1 at the last."""
    if periods == 1:
        return np.zeros(1)
    return np.arange(periods) / (periods - 1)


def provider_trend_points(periods: int) -> np.ndarray:
    """(provider, period) score shift in points: the planted improving and declining providers."""
    frac = window_fraction(periods)
    shift = np.zeros((len(PROVIDER_NAMES), periods))
    for i, name in enumerate(PROVIDER_NAMES):
        if name in IMPROVING_PROVIDERS:
            shift[i] = PROVIDER_TREND_POINTS * frac
        elif name in DECLINING_PROVIDERS:
            shift[i] = -PROVIDER_TREND_POINTS * frac
    return shift


def dip_points(periods: int) -> np.ndarray:
    """The planted satisfaction shift of DIP_DEPARTMENT in each period (points, <= 0)."""
    xs, ys = zip(*DIP_KNOTS, strict=True)
    return np.interp(window_fraction(periods), xs, ys) if periods > 1 else np.zeros(1)


def department_shift_points(periods: int) -> np.ndarray:
    """(department, period) shift of the satisfaction a department gives to every provider."""
    shift = np.zeros((len(DEPARTMENTS), periods))
    shift[DEPARTMENTS.index(DIP_DEPARTMENT)] = dip_points(periods)
    return shift


def company_shock_points(seed: int, periods: int) -> np.ndarray:
    """A company-wide AR(1) shift of every rating: what external CSAT follows one period later."""
    rng = stream(seed, "shock")
    innovations = rng.normal(
        0.0, COMPANY_SHOCK_SD_POINTS * np.sqrt(1 - COMPANY_SHOCK_AR**2), periods
    )
    shock = np.empty(periods)
    level = rng.normal(0.0, COMPANY_SHOCK_SD_POINTS)
    for t in range(periods):  # a loop over periods (at most a few hundred), not over rows
        level = COMPANY_SHOCK_AR * level + innovations[t] if t else level
        shock[t] = level
    # Remove the shock's own linear drift, so that "flat" providers really have no trend.
    if periods >= 3:
        x = np.arange(periods, dtype=float)
        shock = shock - np.polyval(np.polyfit(x, shock, 1), x)
    return shock


# --------------------------------------------------------------------------------------------
# People
# --------------------------------------------------------------------------------------------


@dataclass
class Roster:
    """Everyone employed at any time in the window, one row per person (numpy columns).

    ``hire_day``/``term_day`` are days since 1970-01-01 (``term_day`` = large for stayers);
    ``term_type`` 0 = none, 1 = voluntary, 2 = involuntary, 3 = retirement (a voluntary kind).
    """

    employee_id: np.ndarray  # 'E0000001' strings
    department: np.ndarray  # index into DEPARTMENTS
    hire_day: np.ndarray
    term_day: np.ndarray
    term_type: np.ndarray
    first_name: np.ndarray
    last_name: np.ndarray
    location: np.ndarray
    respondent_effect: np.ndarray  # persistent personal leniency on the 1-5 scale

    def active_on(self, day: int) -> np.ndarray:
        """Indices of people employed on ``day``."""
        return np.flatnonzero((self.hire_day <= day) & (self.term_day > day))

    @property
    def size(self) -> int:
        return len(self.employee_id)


NOT_TERMINATED = np.iinfo(np.int32).max


def month_bounds(period: str) -> tuple[int, int]:
    """First day and the day after the last day of a period, as days since the epoch."""
    p = pd.Period(period, freq="M")
    first = (p.start_time - pd.Timestamp("1970-01-01")).days
    return first, first + p.days_in_month


def department_sizes(employees: int) -> np.ndarray:
    """Deterministic headcount per department (largest-remainder rounding of the shares)."""
    share = DEPARTMENT_SHARES_PCT / DEPARTMENT_SHARES_PCT.sum()
    exact = share * employees
    sizes = np.floor(exact).astype(np.int64)
    short = employees - sizes.sum()
    sizes[np.argsort(-(exact - sizes), kind="stable")[:short]] += 1
    return sizes


def voluntary_rate(periods: int) -> np.ndarray:
    """(department, period) monthly voluntary leaving probability, with the planted lagged rise."""
    rate = np.full((len(DEPARTMENTS), periods), BASE_VOLUNTARY_MONTHLY)
    dip = dip_points(periods)
    lagged = np.concatenate([np.zeros(DIP_TURNOVER_LAG_PERIODS), dip])[:periods]
    rate[DEPARTMENTS.index(DIP_DEPARTMENT)] *= 1.0 + DIP_TURNOVER_PER_POINT * -lagged
    return rate


def _new_ids(start: int, count: int) -> np.ndarray:
    return np.char.add("E", np.char.zfill(np.arange(start, start + count).astype(str), 7)).astype(
        object
    )


def simulate_roster(seed: int, employees: int, period_keys: list[str]) -> Roster:
    """Headcount at the window's start is ``employees``; each month people leave and are replaced.

    Leaving is drawn per person per month with the department's rate (vectorised over people; the
    loop is over months). Hires replace last month's leavers of the same department.
    """
    rng = stream(seed, "roster")
    n_periods = len(period_keys)
    first_day, _ = month_bounds(period_keys[0])
    sizes = department_sizes(employees)
    department = rng.permutation(np.repeat(np.arange(len(DEPARTMENTS)), sizes))
    # Tenure before the window: exponential, mean 5 years, at least one day.
    hire_day = (
        first_day - 1 - np.minimum(rng.exponential(5 * 365, employees), 30 * 365).astype(np.int64)
    )
    term_day = np.full(employees, NOT_TERMINATED, dtype=np.int64)
    term_type = np.zeros(employees, dtype=np.int8)
    vol = voluntary_rate(n_periods)

    departments_parts = [department]
    hire_parts = [hire_day]
    term_parts = [term_day]
    type_parts = [term_type]
    for t, period in enumerate(period_keys):
        start, end = month_bounds(period)
        dept_all = np.concatenate(departments_parts)
        hire_all = np.concatenate(hire_parts)
        term_all = np.concatenate(term_parts)
        types_all = np.concatenate(type_parts)
        active = np.flatnonzero((hire_all < start) & (term_all == NOT_TERMINATED))
        draw = rng.random(active.size)
        p_vol = vol[dept_all[active], t]
        leaving_vol = draw < p_vol
        leaving_inv = (~leaving_vol) & (draw < p_vol + BASE_INVOLUNTARY_MONTHLY)
        leavers = active[leaving_vol | leaving_inv]
        days = rng.integers(start, end, leavers.size)
        kinds = np.where(leaving_vol[leaving_vol | leaving_inv], 1, 2).astype(np.int8)
        retire = (kinds == 1) & (rng.random(leavers.size) < RETIREMENT_SHARE_OF_VOLUNTARY)
        kinds[retire] = 3
        term_all[leavers] = days
        types_all[leavers] = kinds
        # Replace this month's leavers next month (a hiring lag), same department.
        hires_dept = dept_all[leavers]
        if t + 1 < n_periods:
            next_start, next_end = month_bounds(period_keys[t + 1])
            hires_day = rng.integers(next_start, next_end, hires_dept.size)
        else:
            hires_dept = hires_dept[:0]
            hires_day = np.zeros(0, dtype=np.int64)
        departments_parts = [dept_all, hires_dept]
        hire_parts = [hire_all, hires_day]
        term_parts = [term_all, np.full(hires_dept.size, NOT_TERMINATED, dtype=np.int64)]
        type_parts = [types_all, np.zeros(hires_dept.size, dtype=np.int8)]

    department = np.concatenate(departments_parts)
    hire_day = np.concatenate(hire_parts)
    term_day = np.concatenate(term_parts)
    term_type = np.concatenate(type_parts)
    total = department.size
    names_rng = stream(seed, "names")
    return Roster(
        employee_id=_new_ids(1, total),
        department=department,
        hire_day=hire_day,
        term_day=term_day,
        term_type=term_type,
        first_name=np.array(FIRST_NAMES, dtype=object)[
            names_rng.integers(0, len(FIRST_NAMES), total)
        ],
        last_name=np.array(LAST_NAMES, dtype=object)[names_rng.integers(0, len(LAST_NAMES), total)],
        location=np.array(LOCATIONS, dtype=object)[names_rng.integers(0, len(LOCATIONS), total)],
        respondent_effect=names_rng.normal(0.0, RESPONDENT_SD, total),
    )


_TIME_DIRECTIVE = re.compile(r"%-?[HIMSp]")


def format_times(values: np.ndarray, pattern: str) -> np.ndarray:
    """``strftime`` for many timestamps at once; NaT becomes ''. Returns an object array.

    Per-element strftime costs ~1 microsecond; here only the distinct days and the distinct
    times of day are formatted and the halves joined, which is ~20x faster at 100,000 rows.
    The pattern's date directives must come before its time directives (true for every
    layout written here).
    """
    stamps = np.asarray(values, dtype="datetime64[s]")
    missing = np.isnat(stamps)
    seconds = np.where(missing, 0, stamps.astype("int64"))
    days, day_seconds = np.divmod(seconds, 86_400)
    split = _TIME_DIRECTIVE.search(pattern)
    date_part, time_part = (
        (pattern, "") if split is None else (pattern[: split.start()], pattern[split.start() :])
    )
    unique_days, day_index = np.unique(days, return_inverse=True)
    day_text = pd.DatetimeIndex(unique_days.astype("datetime64[D]")).strftime(date_part)
    text = day_text.to_numpy(dtype=object)[day_index.ravel()]
    if time_part:
        unique_times, time_index = np.unique(day_seconds, return_inverse=True)
        time_text = pd.DatetimeIndex(unique_times.astype("datetime64[s]")).strftime(time_part)
        text = text + time_text.to_numpy(dtype=object)[time_index.ravel()]
    text[missing] = ""
    return text
