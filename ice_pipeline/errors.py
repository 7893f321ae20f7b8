"""User-facing errors: one message that says where, what went wrong, and how to fix it.

Raise these for problems a person can fix (a setting, a file, a mapping). The CLI prints
``str(error)`` and exits with status 2, never a traceback; Dagster assets turn them into a
``dagster.Failure`` whose description is the same message. Bugs stay ordinary exceptions.
"""


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
        return f"{prefix}{self.problem}. Fix: {self.fix}"

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
