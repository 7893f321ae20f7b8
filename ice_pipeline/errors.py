"""User-facing errors: one message that says where, what went wrong, and how to fix it.

Raise these for problems a person can fix (a setting, a file, a mapping). The CLI prints
``str(error)`` and exits with status 2, never a traceback; Dagster assets turn them into a
``dagster.Failure`` whose description is the same message. Bugs stay ordinary exceptions.

Names from outside (file names, CLI arguments, header cells) may hold terminal control
characters; :func:`printable` escapes them, and every IceError message is passed through it, so
a file named with an escape sequence cannot rewrite the operator's terminal or forge log lines.
"""

import unicodedata

# Bidirectional overrides and isolates reorder what a terminal shows ("Trojan Source").
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# Control characters, and the Unicode line and paragraph separators (they end a line too).
_CONTROL_CATEGORIES = frozenset({"Cc", "Zl", "Zp"})


def _escaped(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: object) -> str:
    r"""``text`` with control characters (C0, DEL, C1, bidi, line separators) escaped: ``\xNN``.

    Use it wherever a name that came from outside is printed: messages, logs, CLI output.
    """
    value = str(text)
    if value.isprintable():  # the common case costs one C-level scan
        return value
    return "".join(
        _escaped(char)
        if char in _BIDI_CONTROLS or unicodedata.category(char) in _CONTROL_CATEGORIES
        else char
        for char in value
    )


class IceError(Exception):
    """A problem the user can fix, with the fix."""

    exit_code = 2

    def __init__(self, problem: str, *, fix: str, where: str | None = None) -> None:
        self.problem = problem
        self.fix = fix
        self.where = where
        super().__init__(self.message)

    @property
    def message(self) -> str:
        prefix = f"{self.where}: " if self.where else ""
        return printable(f"{prefix}{self.problem}. Fix: {self.fix}")

    def __str__(self) -> str:
        return self.message


class ConfigError(IceError):
    """A setting is missing or wrong; ``where`` names the setting (e.g. ICE_WAREHOUSE_URL)."""

    def __init__(self, setting: str, problem: str, *, fix: str) -> None:
        self.setting = setting
        super().__init__(problem, fix=fix, where=setting)


class FileProblem(IceError):
    """A whole input file cannot be used; ``where`` names the file. Nothing from it is written."""

    def __init__(self, path: str, problem: str, *, fix: str) -> None:
        self.path = path
        super().__init__(problem, fix=fix, where=str(path))
