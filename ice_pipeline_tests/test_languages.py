"""Issue 16 items 1-2: ticket exports in six languages (headers, month names, priorities) agree."""

from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest
import yaml

from ice_pipeline.ingest.common import decode_file
from ice_pipeline.ingest.feeds import detect_feed, read_export
from ice_pipeline.ingest.languages import (
    LANGUAGES,
    _plain,
    english_month_names,
    month_lookup,
)

NOW = datetime(2026, 6, 1)
SALT = "language-salt"
DOCS = Path(__file__).resolve().parent.parent / "docs" / "mappings.md"

# Jira "Export > CSV" headers as each UI language writes them (the columns the ingest uses).
HEADERS = {
    "en": [
        "Issue key",
        "Summary",
        "Created",
        "Resolved",
        "Priority",
        "Reporter",
        "Assignee",
        "Custom field (Team)",
    ],
    "es": [
        "Clave de incidencia",
        "Resumen",
        "Creada",
        "Resuelta",
        "Prioridad",
        "Informador",
        "Persona asignada",
        "Campo personalizado (Team)",
    ],
    "fr": [
        "Clé de ticket",
        "Résumé",
        "Création",
        "Résolue",
        "Priorité",
        "Rapporteur",
        "Responsable",
        "Champ personnalisé (Team)",
    ],
    "de": [
        "Schlüssel",
        "Zusammenfassung",
        "Erstellt",
        "Erledigt",
        "Priorität",
        "Autor",
        "Bearbeiter",
        "Benutzerdefiniertes Feld (Team)",
    ],
    "pt": [
        "Chave do item",
        "Resumo",
        "Criado",
        "Resolvido",
        "Prioridade",
        "Relator",
        "Responsável",
        "Campo personalizado (Team)",
    ],
    "nl": [
        "Sleutel",
        "Samenvatting",
        "Gemaakt",
        "Opgelost",
        "Prioriteit",
        "Melder",
        "Toegewezen aan",
        "Aangepast veld (Team)",
    ],
}
# January, March, May as Jira writes them in each language (CLDR abbreviations).
MONTHS = {
    "en": ("Jan", "Mar", "May"),
    "es": ("ene", "mar", "may"),
    "fr": ("janv.", "mars", "mai"),
    "de": ("Jan.", "März", "Mai"),
    "pt": ("jan.", "mar.", "mai."),
    "nl": ("jan", "mrt", "mei"),
}
PRIORITIES = {
    "en": ("High", "Medium", "Low"),
    "es": ("Alta", "Media", "Baja"),
    "fr": ("Haute", "Moyenne", "Basse"),
    "de": ("Hoch", "Mittel", "Niedrig"),
    "pt": ("Alta", "Média", "Baixa"),
    "nl": ("Hoog", "Gemiddeld", "Laag"),
}
MAPPING = {"feed": "tickets", "provider_departments": {"Service Desk": "IT", "Network": "IT"}}


def _export(language: str) -> str:
    jan, mar, may = MONTHS[language]
    high, medium, low = PRIORITIES[language]
    rows = [
        HEADERS[language],
        [
            "SD-1",
            "Printer",
            f"18/{jan}/26 9:10 AM",
            f"19/{jan}/26 4:05 PM",
            high,
            "u1",
            "a1",
            "Service Desk",
        ],
        ["SD-2", "VPN", f"03/{mar}/26 11:00 AM", "", medium, "u2", "a2", "Network"],
        [
            "SD-3",
            "Laptop",
            f"27/{may}/26 2:30 PM",
            f"28/{may}/26 10:00 AM",
            low,
            "u3",
            "a1",
            "Service Desk",
        ],
    ]
    return "\n".join(",".join(row) for row in rows) + "\n"


def _tickets(tmp_path: Path, language: str) -> pd.DataFrame:
    folder = tmp_path / language
    folder.mkdir()
    path = folder / "jira.csv"
    path.write_text(_export(language), encoding="utf-8")
    (folder / "jira.mapping.yaml").write_text(yaml.safe_dump(MAPPING), encoding="utf-8")
    assert detect_feed(decode_file(path)) == "tickets"
    result = read_export(path, salt=SALT, now=NOW)
    assert result.file_format == "jira"
    assert result.counts["rows_quarantined"] == 0, result.quarantine["reason"].tolist()
    tickets = result.tables["tickets"]
    return tickets.drop(columns=["source_file", "source_sha256"]).reset_index(drop=True)


@pytest.mark.parametrize("language", ["es", "fr", "de", "pt", "nl"])
def test_localised_jira_exports_give_the_same_canonical_tickets(
    tmp_path: Path, language: str
) -> None:
    english = _tickets(tmp_path, "en")
    assert english["opened_at"].tolist() == [
        pd.Timestamp("2026-01-18 09:10"),
        pd.Timestamp("2026-03-03 11:00"),
        pd.Timestamp("2026-05-27 14:30"),
    ]
    assert english["priority"].tolist() == [2, 3, 4]
    pd.testing.assert_frame_equal(_tickets(tmp_path, language), english)


def test_spanish_jira_date_parses() -> None:
    values = pd.Series(["18/ene/26 9:10 AM", "2/dic/25 11:59 PM", "not a date"])
    assert english_month_names(values).tolist() == [
        "18/Jan/26 9:10 AM",
        "2/Dec/25 11:59 PM",
        "not a date",
    ]


def test_month_names_come_from_cldr_for_every_language() -> None:
    from babel.dates import get_month_names

    lookup = month_lookup()
    for language in LANGUAGES:
        for width in ("wide", "abbreviated"):
            for number, name in get_month_names(width, "format", locale=language).items():
                # Every CLDR name is kept (no word means two months across the languages).
                assert lookup.get(_plain(name)) == number, (language, name)
    assert lookup["ene"] == 1 and lookup["marz"] == 3 and lookup["fevr"] == 2


def test_every_language_is_documented() -> None:
    text = DOCS.read_text(encoding="utf-8")
    assert "## Languages" in text
    for language in LANGUAGES:
        assert f"`{language}`" in text


def test_a_german_roster_is_detected_and_read_without_a_columns_block(tmp_path: Path) -> None:
    path = tmp_path / "personal_2026-03.csv"
    path.write_text(
        "Personalnummer,Vorname,Abteilung,Eintrittsdatum,Austrittsdatum,Austrittsart\n"
        "P1,Anna,Vertrieb,2020-01-01,,\n"
        "P2,Ben,Vertrieb,2021-05-03,2026-03-15,Resignation\n",
        encoding="utf-8",
    )
    assert detect_feed(decode_file(path)) == "hr"
    result = read_export(path, salt=SALT, now=NOW)
    employees = result.tables["employees"]
    assert result.feed == "hr" and result.counts["rows_kept"] == 2
    assert employees["department"].tolist() == ["Vertrieb", "Vertrieb"]
    assert employees["termination_type"].tolist() == [None, "voluntary"]
    assert "Vorname (personal, dropped)" in result.columns_unmapped
