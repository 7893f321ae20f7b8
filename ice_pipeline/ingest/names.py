"""Name normalisation: department, provider and dimension names that differ only in form are one.

Belongs here: ``fold`` (the matching key: Unicode NFKC, case folding, whitespace collapsed), and
choosing one display name per key (``harmonise``: the most frequent spelling, NFC, single
spaces) with the other spellings reported. ``IT``, ``It ``, ``ＩＴ`` (full width) and a name in
NFD instead of NFC would otherwise become separate departments without a warning, splitting a
group's respondents and weakening its anonymity count.

``normalise_names`` applies it to a reader's result: every department column of every table
(``provider_department``, ``consumer_department``, ``department``) shares one set of names, and
``dimension`` has its own. The survey reader also harmonises its rating columns' providers and
dimensions before checking for repeated answers, so two spellings cannot make two answers.
Work is per distinct value (categorical columns: per category), never per row.
"""

import unicodedata
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from ice_pipeline.ingest.common import ParseResult, raw_tables

DEPARTMENT_COLUMNS = ("provider_department", "consumer_department", "department")
NAME_GROUPS = {"departments": DEPARTMENT_COLUMNS, "dimensions": ("dimension",)}


def fold(text: str) -> str:
    """The matching key of a name: NFKC, case folded, runs of whitespace as one space."""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    return " ".join(folded.split())


def display(text: str) -> str:
    """The shown form of a chosen spelling: NFC, runs of whitespace as one space."""
    return " ".join(unicodedata.normalize("NFC", text).split())


def choose_names(
    counts: Iterable[tuple[str, int]],
) -> tuple[dict[str, str], dict[str, list[str]]]:
    """Spelling -> display name, and display name -> the other spellings seen.

    The display name of a key is the most frequent spelling (the first seen on a tie).
    """
    by_key: dict[str, dict[str, int]] = {}
    for spelling, count in counts:
        group = by_key.setdefault(fold(spelling), {})
        group[spelling] = group.get(spelling, 0) + int(count)
    chosen: dict[str, str] = {}
    variants: dict[str, list[str]] = {}
    for group in by_key.values():
        best = display(max(group, key=lambda s: group[s]))  # max keeps the first on a tie
        for spelling in group:
            chosen[spelling] = best
        others = sorted(s for s in group if s != best)
        if others:
            variants[best] = others
    return chosen, variants


def _spelling_counts(column: pd.Series) -> list[tuple[str, int]]:
    if isinstance(column.dtype, pd.CategoricalDtype):
        codes = column.cat.codes.to_numpy()
        tally = np.bincount(codes[codes >= 0], minlength=len(column.cat.categories))
        return [(str(c), int(n)) for c, n in zip(column.cat.categories, tally, strict=True)]
    counts = column.dropna().astype(str).value_counts(sort=False)
    return [(str(k), int(v)) for k, v in counts.items()]


def _rename(column: pd.Series, chosen: dict[str, str]) -> pd.Series:
    if isinstance(column.dtype, pd.CategoricalDtype):
        renamed = [chosen.get(str(c), str(c)) for c in column.cat.categories]
        new_code, categories = pd.factorize(np.asarray(renamed, dtype=object))
        codes = column.cat.codes.to_numpy()
        mapped = np.where(codes >= 0, new_code[np.maximum(codes, 0)], -1)
        return pd.Series(
            pd.Categorical.from_codes(mapped, categories=categories), index=column.index
        )
    return column.map(lambda v: chosen.get(v, v) if isinstance(v, str) else v)


def harmonise_array(values: np.ndarray) -> tuple[np.ndarray, dict[str, list[str]]]:
    """One display name per spelling of ``values`` (object array, None kept)."""
    series = pd.Series(values, dtype=object)
    chosen, variants = choose_names(_spelling_counts(series))
    return _rename(series, chosen).to_numpy(dtype=object), variants


def _spellings(frame: Any, column: str) -> list[tuple[str, int]]:
    """Spelling counts of a pandas column, or of a table staged in DuckDB (survey_stage.py)."""
    staged = getattr(frame, "spellings", None)
    return staged(column) if staged else _spelling_counts(frame[column])


def normalise_names(result: ParseResult) -> ParseResult:
    """Harmonise the department and dimension names of every table of ``result`` in place."""
    tables = raw_tables(result.tables)
    for group, columns in NAME_GROUPS.items():
        present = [
            (name, column)
            for name, frame in tables.items()
            for column in columns
            if column in frame.columns and len(frame)
        ]
        if not present:
            continue
        counts: list[tuple[str, int]] = []
        for name, column in present:
            counts.extend(_spellings(tables[name], column))
        chosen, variants = choose_names(counts)
        if any(spelling != name for spelling, name in chosen.items()):
            for name, column in present:
                staged = getattr(tables[name], "rename_values", None)
                if staged:
                    staged(column, chosen)
                else:
                    result.tables[name][column] = _rename(result.tables[name][column], chosen)
        for best, others in variants.items():
            known = result.name_variants.setdefault(group, {}).setdefault(best, [])
            known.extend(o for o in others if o not in known)
    return result


def spelling_counts(tables: dict[str, pd.DataFrame]) -> dict[str, dict[str, int]]:
    """Per name group, how often each spelling occurs in a file's tables (stored with its parse)."""
    found: dict[str, dict[str, int]] = {}
    for group, columns in NAME_GROUPS.items():
        tally = found.setdefault(group, {})
        for frame in raw_tables(tables).values():
            for column in columns:
                if column in frame.columns and len(frame):
                    for spelling, count in _spellings(frame, column):
                        tally[spelling] = tally.get(spelling, 0) + count
    return found


def names_across_files(
    per_file: Iterable[dict[str, dict[str, int]]],
) -> dict[str, dict[str, str]]:
    """Per name group, spelling -> display name over every file of every feed.

    Each file already shows one spelling per name; files can still disagree (the HR roster
    writes ``IT``, a survey ``ＩＴ``), and a department must be one group across feeds and files
    (turnover joins HR departments to survey departments). The most frequent spelling wins.
    """
    totals: dict[str, dict[str, int]] = {}
    for counts in per_file:
        for group, tally in counts.items():
            into = totals.setdefault(group, {})
            for spelling, count in tally.items():
                into[spelling] = into.get(spelling, 0) + int(count)
    chosen: dict[str, dict[str, str]] = {}
    for group, tally in totals.items():
        names, _variants = choose_names(sorted(tally.items()))
        chosen[group] = {s: n for s, n in names.items() if s != n}
    return chosen


def apply_names(frame: pd.DataFrame, names: dict[str, dict[str, str]]) -> pd.DataFrame:
    """``frame`` with its department and dimension columns renamed by ``names`` (a copy if so)."""
    renamed = frame
    for group, columns in NAME_GROUPS.items():
        chosen = names.get(group) or {}
        for column in columns:
            if not chosen or column not in frame.columns or frame.empty:
                continue
            if not any(s in chosen for s, _ in _spelling_counts(frame[column])):
                continue
            if renamed is frame:
                renamed = frame.copy(deep=False)
            renamed[column] = _rename(frame[column], chosen)
    return renamed
