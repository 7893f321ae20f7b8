"""Exports in other languages: header aliases, priority words and month names, from one table.

Belongs here: the table of localised header names per feed, layout and canonical column
(``HEADER_ALIASES``), the localised priority words (``PRIORITY_WORDS``), and month names and
abbreviations, which come from Babel's CLDR data (the maintained source every locale-aware tool
uses), not from hand-typed lists. Readers merge the aliases into their default column names
(``with_aliases``), feed detection asks ``feed_from_aliases``, and dates with month names in any
of ``LANGUAGES`` are translated to the English abbreviation before the named-month formats
parse them (``english_month_names``), once per distinct value.

Adding a language: add its code to ``LANGUAGES`` (month names follow from CLDR) and its words to
the tables below; docs/mappings.md ("Languages") lists them.
"""

import re
import unicodedata
from functools import cache

import numpy as np
import pandas as pd

LANGUAGES = ("en", "de", "fr", "es", "pt", "nl")

# (feed, layout) -> canonical column -> language -> header names as the tool writes them.
HEADER_ALIASES: dict[tuple[str, str], dict[str, dict[str, list[str]]]] = {
    ("tickets", "jira"): {
        "ticket_id": {
            "de": ["Schlüssel", "Vorgangsschlüssel"],
            "fr": ["Clé de ticket", "Clé"],
            "es": ["Clave de incidencia", "Clave"],
            "pt": ["Chave do item", "Chave"],
            "nl": ["Issuesleutel", "Sleutel"],
        },
        "opened_at": {
            "de": ["Erstellt"],
            "fr": ["Création", "Créé"],
            "es": ["Creada", "Creado"],
            "pt": ["Criado"],
            "nl": ["Aangemaakt", "Gemaakt"],
        },
        "resolved_at": {
            "de": ["Erledigt"],
            "fr": ["Résolue", "Résolu"],
            "es": ["Resuelta", "Resuelto"],
            "pt": ["Resolvido"],
            "nl": ["Opgelost"],
        },
        "assignment_group": {
            "de": ["Benutzerdefiniertes Feld (Team)", "Komponente/n"],
            "fr": ["Champ personnalisé (Team)", "Composants"],
            "es": ["Campo personalizado (Team)", "Componentes"],
            "pt": ["Campo personalizado (Team)", "Componentes"],
            "nl": ["Aangepast veld (Team)", "Componenten"],
        },
        "requester": {
            "de": ["Autor"],
            "fr": ["Rapporteur"],
            "es": ["Informador"],
            "pt": ["Relator"],
            "nl": ["Melder"],
        },
        "priority": {
            "de": ["Priorität"],
            "fr": ["Priorité"],
            "es": ["Prioridad"],
            "pt": ["Prioridade"],
            "nl": ["Prioriteit"],
        },
        "first_assignee": {
            "de": ["Bearbeiter"],
            "fr": ["Responsable"],
            "es": ["Persona asignada", "Responsable"],
            "pt": ["Responsável"],
            "nl": ["Toegewezen aan"],
        },
    },
    ("hr", "roster"): {
        "employee_id": {
            "de": ["Personalnummer", "Mitarbeiter-ID"],
            "fr": ["Matricule", "ID employé"],
            "es": ["ID de empleado", "Número de empleado"],
            "pt": ["Matrícula", "ID do funcionário"],
            "nl": ["Personeelsnummer", "Medewerker-ID"],
        },
        "department": {
            "de": ["Abteilung"],
            "fr": ["Département", "Service"],
            "es": ["Departamento"],
            "pt": ["Departamento"],
            "nl": ["Afdeling"],
        },
        "hire_date": {
            "de": ["Eintrittsdatum"],
            "fr": ["Date d'embauche"],
            "es": ["Fecha de contratación", "Fecha de alta"],
            "pt": ["Data de admissão"],
            "nl": ["Datum in dienst"],
        },
        "termination_date": {
            "de": ["Austrittsdatum"],
            "fr": ["Date de départ", "Date de sortie"],
            "es": ["Fecha de baja"],
            "pt": ["Data de desligamento"],
            "nl": ["Datum uit dienst"],
        },
        "termination_type": {
            "de": ["Austrittsart", "Beschäftigungsstatus"],
            "fr": ["Motif de départ", "Statut d'emploi"],
            "es": ["Tipo de baja", "Estado laboral"],
            "pt": ["Tipo de desligamento", "Situação"],
            "nl": ["Reden uit dienst", "Dienstverband status"],
        },
    },
    ("external", "nps_responses"): {
        "responded_at": {
            "de": ["Datum"],
            "fr": ["Date de réponse"],
            "es": ["Fecha"],
            "pt": ["Data"],
            "nl": ["Datum"],
        },
        "business_unit": {
            "de": ["Geschäftsbereich"],
            "fr": ["Unité commerciale"],
            "es": ["Unidad de negocio"],
            "pt": ["Unidade de negócio"],
            "nl": ["Bedrijfsonderdeel"],
        },
        "score": {
            "de": ["Weiterempfehlung"],
            "fr": ["Probabilité de recommandation"],
            "es": ["Probabilidad de recomendación"],
            "pt": ["Probabilidade de recomendação"],
            "nl": ["Kans op aanbeveling"],
        },
    },
}

# Headers of personal columns (names, contact details, birth dates): dropped and named as
# dropped like their English counterparts (privacy.is_personal_column reads this list).
PERSONAL_HEADERS: dict[str, list[str]] = {
    "de": ["Vorname", "Nachname", "Name", "E-Mail", "Telefon", "Adresse", "Geburtsdatum"],
    "fr": [
        "Prénom",
        "Nom",
        "Nom de famille",
        "Courriel",
        "Téléphone",
        "Adresse",
        "Date de naissance",
    ],
    "es": [
        "Nombre",
        "Apellido",
        "Apellidos",
        "Correo electrónico",
        "Teléfono",
        "Dirección",
        "Fecha de nacimiento",
    ],
    "pt": ["Nome", "Sobrenome", "Apelido", "Telefone", "Endereço", "Morada", "Data de nascimento"],
    "nl": ["Voornaam", "Achternaam", "Naam", "Telefoon", "Adres", "Geboortedatum"],
}

# Priority words -> 1 (most urgent) .. 5, beside tickets.DEFAULT_PRIORITY_VALUES (English).
PRIORITY_WORDS: dict[str, dict[str, int]] = {
    "de": {"höchste": 1, "hoch": 2, "mittel": 3, "niedrig": 4, "niedrigste": 5},
    "fr": {"la plus haute": 1, "haute": 2, "moyenne": 3, "basse": 4, "la plus basse": 5},
    "es": {"más alta": 1, "alta": 2, "media": 3, "baja": 4, "más baja": 5},
    "pt": {"mais alta": 1, "alta": 2, "média": 3, "baixa": 4, "mais baixa": 5},
    "nl": {"hoogste": 1, "hoog": 2, "gemiddeld": 3, "laag": 4, "laagste": 5},
}


def with_aliases(
    defaults: dict[str, dict[str, list[str]]], feed: str
) -> dict[str, dict[str, list[str]]]:
    """A reader's default column names with every language's aliases appended (lower case)."""
    merged = {
        layout: {role: list(names) for role, names in roles.items()}
        for layout, roles in defaults.items()
    }
    for (alias_feed, layout), roles in HEADER_ALIASES.items():
        if alias_feed != feed or layout not in merged:
            continue
        for role, by_language in roles.items():
            names = merged[layout].setdefault(role, [])
            for words in by_language.values():
                names.extend(w.lower() for w in words if w.lower() not in names)
    return merged


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip().casefold()


def layout_from_aliases(feed: str, header: list[str]) -> str | None:
    """The layout whose localised required headers (id and date columns) the header has."""
    names = {_fold(h) for h in header}
    for (alias_feed, layout), roles in HEADER_ALIASES.items():
        if alias_feed != feed:
            continue
        for language in LANGUAGES[1:]:
            found = [
                role
                for role, by_language in roles.items()
                if any(_fold(w) in names for w in by_language.get(language, []))
            ]
            if len(found) >= 3:
                return layout
    return None


def feed_from_aliases(header: list[str]) -> str | None:
    """The feed a localised header belongs to (three of its columns in one language)."""
    for feed in ("tickets", "hr", "external"):
        if layout_from_aliases(feed, header) is not None:
            return feed
    return None


def priority_words() -> dict[str, int]:
    """Every language's priority words, lower case."""
    return {word: rank for words in PRIORITY_WORDS.values() for word, rank in words.items()}


def _plain(text: str) -> str:
    """Lower case, accents and a trailing dot removed: 'févr.' -> 'fevr', 'März' -> 'marz'."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).rstrip(".")


_ENGLISH = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@cache
def month_lookup() -> dict[str, int]:
    """Month name or abbreviation (folded) -> month number, over ``LANGUAGES`` from CLDR.

    A word that means different months in two languages would be dropped (none does today;
    the test of this module checks that every CLDR name of every language is kept).
    """
    from babel.dates import get_month_names

    found: dict[str, set[int]] = {}
    for language in LANGUAGES:
        for width in ("wide", "abbreviated"):
            for context in ("format", "stand-alone"):
                for number, name in get_month_names(width, context, locale=language).items():
                    found.setdefault(_plain(name), set()).add(int(number))
    return {word: next(iter(months)) for word, months in found.items() if len(months) == 1}


_WORD = re.compile(r"[^\W\d_]+\.?")


def _translate(text: str, lookup: dict[str, int]) -> str:
    def replace(match: re.Match[str]) -> str:
        number = lookup.get(_plain(match.group(0)))
        return _ENGLISH[number - 1] if number else match.group(0)

    return _WORD.sub(replace, text)


def english_month_names(values: pd.Series) -> pd.Series:
    """Month names in any of ``LANGUAGES`` replaced by the English abbreviation.

    ``18/ene/26 9:10 AM`` -> ``18/Jan/26 9:10 AM``, ``3. März 2026`` -> ``3. Mar 2026``; words
    that are not month names (AM, PM) stay. Done once per distinct value.
    """
    lookup = month_lookup()
    codes, distinct = pd.factorize(values.to_numpy(dtype=object))
    translated = np.array([_translate(str(v), lookup) for v in distinct] + [None], dtype=object)
    return pd.Series(translated[codes], index=values.index, dtype=object)
