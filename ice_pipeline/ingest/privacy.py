"""Pseudonymisation and the personal columns that never pass ingest.

Respondent, employee and requester ids are replaced by a keyed hash (HMAC-SHA256 with
ICE_PSEUDONYM_SALT) so the same person links across files and runs without the raw id being
stored; without the salt the hash cannot be reversed by enumerating ids. Names, e-mail addresses,
IP addresses, locations and external references are dropped at ingest by the readers, which
consult ``is_personal_column``.
"""

import hashlib
import hmac
import re

import numpy as np
import pandas as pd

PSEUDONYM_LENGTH = 32

# Header names (normalised: lower case, no spaces/underscores/hyphens) of personal columns
# written by Qualtrics, SurveyMonkey, LimeSurvey, Google Forms, ServiceNow, Jira, Zendesk, HRIS.
_PERSONAL_NAMES = {
    "ipaddress",
    "ip",
    "ipaddr",
    "recipientlastname",
    "recipientfirstname",
    "recipientemail",
    "externalreference",
    "externaldatareference",
    "locationlatitude",
    "locationlongitude",
    "locationaccuracy",
    "emailaddress",
    "email",
    "workemail",
    "personalemail",
    "name",
    "firstname",
    "lastname",
    "fullname",
    "employeename",
    "phone",
    "phonenumber",
    "mobile",
    "address",
    "homeaddress",
    "emailaddressoptional",
    "username",
    "requesteremail",
    "reporteremail",
    "dateofbirth",
    "birthdate",
    "ssn",
    "nationalid",
    "refurl",
    "seed",
    "ipaddresses",
}


def _localised_personal_names() -> set[str]:
    from ice_pipeline.ingest.languages import PERSONAL_HEADERS

    return {_normalise(word) for words in PERSONAL_HEADERS.values() for word in words}


_PERSONAL_PATTERNS = [
    re.compile(p) for p in (r"e-?mail", r"\bip address\b", r"latitude", r"longitude")
]


def _normalise(name: str) -> str:
    return re.sub(r"[\s_\-.()]", "", name.strip().lower())


def is_personal_column(name: str) -> bool:
    """True for columns holding names, contact details, network or location identifiers."""
    if _normalise(name) in _PERSONAL_NAMES or _normalise(name) in _LOCALISED_NAMES:
        return True
    lowered = name.lower()
    return any(p.search(lowered) for p in _PERSONAL_PATTERNS)


def pseudonymize(ids: pd.Series, salt: str) -> pd.Series:
    """Keyed hash of each id (stripped text); missing ids stay missing."""
    key = salt.encode("utf-8")

    def one(value: object) -> object:
        if value is None or (isinstance(value, float) and value != value):
            return None
        text = str(value).strip()
        if not text:
            return None
        # hmac.digest is the one-shot (OpenSSL) form of hmac.new(...).digest(): same bytes, faster.
        return hmac.digest(key, text.encode("utf-8"), "sha256").hex()[:PSEUDONYM_LENGTH]

    # Hash each distinct id once: exports repeat ids on every row of a long table.
    uniques = pd.Series(ids.dropna().unique())
    lookup = dict(zip(uniques, uniques.map(one), strict=True))
    return ids.map(lookup).astype(object).where(ids.notna(), None)


def pseudonymize_per_row(ids: pd.Series, salt: str) -> pd.Series:
    """``pseudonymize`` of each id, hashed once per distinct id in one tight loop.

    The same pseudonyms (same key, same stripped text, same length); for the table readers,
    whose 100k roster ids are all distinct: the per-value function and the two dict maps
    around it cost more than the hashing. Missing ids, and ids that are blank once stripped,
    stay missing (None).
    """
    codes, distinct = pd.factorize(ids.to_numpy(dtype=object))  # missing -> code -1
    texts = [str(value).strip() for value in distinct]
    hashed = _hmac_hex(salt.encode("utf-8"), texts)
    per_row = np.array([*hashed, None], dtype=object)[codes]
    return pd.Series(per_row, index=ids.index, dtype=object)


def _hmac_hex(key: bytes, texts: list[str]) -> list[str | None]:
    """``hmac.digest(key, text, "sha256").hex()[:PSEUDONYM_LENGTH]`` of each text (None if blank).

    HMAC-SHA256 written out (RFC 2104) with the key's inner and outer pads hashed once: the
    same bytes as ``hmac.digest``, about twice as fast on 100k roster ids, because the one-shot
    form sets the key up again for every id.
    """
    block = 64  # SHA-256's block size
    if len(key) > block:
        key = hashlib.sha256(key).digest()
    padded = key.ljust(block, b"\0")
    inner = hashlib.sha256(bytes(byte ^ 0x36 for byte in padded)).copy
    outer = hashlib.sha256(bytes(byte ^ 0x5C for byte in padded)).copy
    out: list[str | None] = []
    for text in texts:
        if not text:
            out.append(None)
            continue
        first = inner()
        first.update(text.encode("utf-8"))
        second = outer()
        second.update(first.digest())
        out.append(second.hexdigest()[:PSEUDONYM_LENGTH])
    return out


# Issue 16: the same columns in German, French, Spanish, Portuguese and Dutch (languages.py).
_LOCALISED_NAMES = _localised_personal_names()
