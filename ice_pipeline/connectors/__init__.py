"""Pull connectors: fetch what is new from Qualtrics, SurveyMonkey, ServiceNow, Jira, Zendesk
and BambooHR and land it as export files the ingest parsers already read.

Belongs here: one module per vendor (its protocol and how its records become the vendor's own
CSV export layout), and the shared machinery: ``http`` (client, retries), ``landing`` (atomic
files and provenance sidecars), ``cursor`` (the committed cursor), ``source`` (common settings),
``config`` (the ``connectors:`` section of ICE_CONFIG) and ``pull`` (running pulls). Nothing
here imports Dagster; ``ice_pipeline/defs/assets_pull.py`` is the Dagster shell.
"""

from types import ModuleType


def tool_module(tool: str) -> ModuleType:
    """The vendor module of ``tool`` (imported lazily: each brings its own helpers)."""
    from importlib import import_module

    if tool not in TOOLS:
        raise KeyError(tool)
    return import_module(f"ice_pipeline.connectors.{tool}")


TOOLS = ("qualtrics", "surveymonkey", "servicenow", "jira", "zendesk", "bamboohr")
