"""Detection of one-header-row table layouts (tickets, HR, external) from the registry.

Belongs here: ``recognised_format``, which asks each registered layout of a feed, in registry
order, whether its vendor module recognises the header. A vendor module of a table feed has
``COLUMNS`` (format -> canonical role -> header names) and ``RECOGNISERS`` (format -> a test of
the lower-cased header names). Survey layouts (several header rows) are detected in surveys.py.
"""

from collections.abc import Callable
from importlib import import_module

from ice_pipeline.ingest.vendors import Layout, layouts_of


def recogniser(layout: Layout) -> Callable[[set[str]], bool]:
    """The vendor module's test for one layout."""
    module = import_module(f"{__package__}.{layout.vendor}")
    return module.RECOGNISERS[layout.format]


def default_columns(feed: str) -> dict[str, dict[str, list[str]]]:
    """Format -> canonical role -> header names, for every registered layout of a feed."""
    columns: dict[str, dict[str, list[str]]] = {}
    for layout in layouts_of(feed):
        module = import_module(f"{__package__}.{layout.vendor}")
        columns[layout.format] = module.COLUMNS[layout.format]
    return columns


def recognised_format(feed: str, names: set[str]) -> str | None:
    """The first registered layout of ``feed`` whose vendor recognises the header names."""
    return next((layout.format for layout in layouts_of(feed) if recogniser(layout)(names)), None)
