"""The external systems the assets talk to, as Dagster resources: warehouse, settings, email.

Belongs here: one ``dg.ConfigurableResource`` per external system, with typed fields and explicit
timeouts, and ``build_resources`` which fills them from :func:`ice_pipeline.settings.load_settings`
when the code location loads. Secrets (the pseudonym salt, the SMTP password) are passed as
``dg.EnvVar`` so their values never enter the definitions, the UI or the run config; they are
resolved when a run starts. What the assets do with these resources lives in the asset modules;
how the warehouse, the config and the mail transports work lives in their domain modules.

Secrets are never literal values, on any path: the CLI runner, ``dagster dev``, the daemon and its
schedules and sensors all load them as ``dg.EnvVar`` (a literal would be stored in clear in every
run's job snapshot, which the webserver serves). A caller holding the secrets in a mapping that
is not the process environment (the runner, tests) calls :func:`export_secrets` first.

Environment variables read by ``build_resources`` (README.md, Configuration):
ICE_DATA_DIR, ICE_WAREHOUSE_URL, ICE_CONFIG, ICE_DEMO_MODE, ICE_PSEUDONYM_SALT,
ICE_ANALYST_DUCKDB (the analyst's DuckDB file, default <ICE_DATA_DIR>/analyst/ice_analyst.duckdb),
and for email
ICE_SMTP_HOST (unset: write .eml files to <ICE_DATA_DIR>/outbox, no network), ICE_SMTP_PORT,
ICE_SMTP_SECURITY (starttls | ssl | none), ICE_SMTP_USER, ICE_SMTP_PASSWORD, ICE_SMTP_FROM,
ICE_SMTP_TIMEOUT_SECONDS.
"""

import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg
import sqlalchemy
from pydantic import Field

from ice_pipeline.errors import ConfigError
from ice_pipeline.settings import Settings, load_settings

# One engine per warehouse URL per process: runs executed one after another in the same process
# (the CLI runner, tests) share the connection pool instead of opening a new one per step.
_ENGINES: dict[str, sqlalchemy.Engine] = {}
_UPGRADED: set[str] = set()
_LOCK = threading.Lock()


def dispose_engines() -> None:
    """Close every cached engine (DuckDB holds a file lock while an engine is open)."""
    with _LOCK:
        for engine in _ENGINES.values():
            engine.dispose()
        _ENGINES.clear()
        _UPGRADED.clear()


class WarehouseResource(dg.ConfigurableResource):
    """The SQL warehouse (DuckDB file or PostgreSQL) that every asset reads and writes.

    Migrations are applied once per process before the first use in a run (``setup_for_execution``),
    so a run never writes into an outdated schema.
    """

    url: str = Field(
        description="SQLAlchemy URL (ICE_WAREHOUSE_URL): duckdb:///... or postgresql+psycopg://..."
    )

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self.upgrade()

    def engine(self) -> sqlalchemy.Engine:
        """A checked engine, cached per process (connect timeout: warehouse.engine)."""
        from ice_pipeline.warehouse.engine import connect_warehouse

        with _LOCK:
            engine = _ENGINES.get(self.url)
            if engine is None:
                engine = connect_warehouse(self.url)
                _ENGINES[self.url] = engine
            return engine

    def upgrade(self) -> str | None:
        """Bring the warehouse to the newest migration (once per process and URL)."""
        from ice_pipeline.warehouse.migrate import upgrade

        with _LOCK:
            if self.url in _UPGRADED:
                return None
        # DuckDB allows one writer per file: the migration's own engine must not meet ours.
        if self.url.startswith("duckdb"):
            with _LOCK:
                cached = _ENGINES.pop(self.url, None)
            if cached is not None:
                cached.dispose()
        revision = upgrade(self.url)
        with _LOCK:
            _UPGRADED.add(self.url)
        return revision


class PipelineSettingsResource(dg.ConfigurableResource):
    """Where the pipeline's files live and its tunable constants (the YAML config)."""

    data_dir: str = Field(
        description="ICE_DATA_DIR: landing/, cache/, reports/, outbox/, gx/ live here"
    )
    config_file: str | None = Field(
        default=None, description="ICE_CONFIG: the YAML config file, or defaults"
    )
    demo_mode: bool = Field(
        default=False, description="ICE_DEMO_MODE: allows the fixed demo pseudonym salt"
    )
    pseudonym_salt: str | None = Field(
        default=None, description="ICE_PSEUDONYM_SALT (secret): required outside demo mode"
    )
    analyst_file: str | None = Field(
        default=None,
        description="ICE_ANALYST_DUCKDB: the DuckDB file analysts open (aggregates only)",
    )

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir)

    @property
    def landing_dir(self) -> Path:
        return self.data_path / "landing"

    @property
    def cache_dir(self) -> Path:
        return self.data_path / "cache"

    @property
    def reports_dir(self) -> Path:
        return self.data_path / "reports"

    @property
    def outbox_dir(self) -> Path:
        return self.data_path / "outbox"

    @property
    def gx_dir(self) -> Path:
        return self.data_path / "gx"

    def salt(self) -> str:
        """The pseudonym salt, or a ConfigError naming ICE_PSEUDONYM_SALT outside demo mode."""
        from ice_pipeline.settings import pseudonym_salt

        settings = Settings(data_dir=self.data_path, warehouse_url="", demo_mode=self.demo_mode)
        value = secret_value(self.pseudonym_salt)
        return pseudonym_salt(settings, {"ICE_PSEUDONYM_SALT": value or ""})

    @property
    def analyst_path(self) -> Path:
        """The analyst's DuckDB file (ICE_ANALYST_DUCKDB; see warehouse/analyst_file.py)."""
        from ice_pipeline.warehouse.analyst_file import default_analyst_path

        return (
            Path(self.analyst_file) if self.analyst_file else default_analyst_path(self.data_path)
        )

    def config(self) -> dict[str, Any]:
        from ice_pipeline.config import load_config

        return load_config(Path(self.config_file) if self.config_file else None)

    def section(self, name: str) -> dict[str, Any]:
        from ice_pipeline.config import section

        return section(self.config(), name)

    def index_config(self) -> Any:
        """The ``index`` section as :class:`ice_pipeline.index.config.IndexConfig`."""
        from ice_pipeline.index.config import IndexConfig

        return IndexConfig.from_section(self.section("index"))

    def ingest_settings(self) -> Any:
        """The ``ingest`` section as :class:`ice_pipeline.ingest.limits.IngestSettings`."""
        from ice_pipeline.ingest.limits import IngestSettings

        return IngestSettings.from_section(self.section("ingest"))


class EmailResource(dg.ConfigurableResource):
    """Where reports and alerts are sent: an SMTP server, or (default) an outbox of .eml files.

    Wraps the transports of :mod:`ice_pipeline.reports.delivery`. The SMTP server comes from
    ICE_SMTP_* (these fields) or else from the ``email.smtp`` section of the YAML config; with
    neither, messages are written to ``outbox_dir`` and nothing touches the network (the demo).
    """

    outbox_dir: str = Field(description="Directory for .eml files when no SMTP host is set")
    smtp_host: str | None = Field(
        default=None, description="ICE_SMTP_HOST; unset means email.smtp or the outbox"
    )
    smtp_port: int = Field(default=587, description="ICE_SMTP_PORT")
    smtp_security: str = Field(
        default="starttls", description="ICE_SMTP_SECURITY: starttls | ssl | none"
    )
    smtp_user: str | None = Field(
        default=None, description="ICE_SMTP_USER: the login, may differ from From"
    )
    smtp_password: str | None = Field(default=None, description="ICE_SMTP_PASSWORD (secret)")
    from_address: str = Field(
        default="ice-pipeline@localhost.localdomain", description="ICE_SMTP_FROM"
    )
    timeout_seconds: float = Field(
        default=30.0, description="ICE_SMTP_TIMEOUT_SECONDS per connection"
    )

    def smtp_settings(self, smtp_section: Mapping[str, Any] | None = None) -> Any:
        """The SMTP settings in force (``reports.delivery.SmtpSettings``); None: the outbox."""
        from ice_pipeline.reports.delivery import SmtpSettings

        if self.smtp_host:
            return SmtpSettings(
                host=self.smtp_host,
                from_address=self.from_address,
                port=self.smtp_port,
                security=self.smtp_security,
                username=self.smtp_user,
                timeout_s=self.timeout_seconds,
            )
        if smtp_section and smtp_section.get("host"):
            return SmtpSettings.from_section(smtp_section)
        return None

    def sender_address(self, smtp_section: Mapping[str, Any] | None = None) -> str:
        settings = self.smtp_settings(smtp_section)
        return settings.from_address if settings is not None else self.from_address

    def transport(self, smtp_section: Mapping[str, Any] | None = None) -> Any:
        """An ``SmtpTransport`` or ``OutboxTransport`` (``send(message, recipient)``)."""
        from ice_pipeline.reports.delivery import OutboxTransport, SmtpTransport

        settings = self.smtp_settings(smtp_section)
        if settings is None:
            return OutboxTransport(Path(self.outbox_dir))
        # The transport reads the password from settings.password_env in this mapping, so the
        # secret resolved by Dagster (EnvVar) is handed over without touching os.environ.
        import os

        password = secret_value(self.smtp_password) or os.environ.get(settings.password_env, "")
        return SmtpTransport(settings, environ={settings.password_env: password})


SECRET_VARIABLES = ("ICE_PSEUDONYM_SALT", "ICE_SMTP_PASSWORD")


def secret_value(value: str | None) -> str | None:
    """A secret field's value: resolved by Dagster in a run, or read from its EnvVar outside one.

    Outside a run (a resource built by hand, a test) the field still holds the ``dg.EnvVar``,
    whose string value is the variable's *name*; using it as the salt would be silently wrong.
    """
    if isinstance(value, dg.EnvVar):
        return value.get_value() or None
    return value


def export_secrets(environ: Mapping[str, str]) -> None:
    """Put the secrets of ``environ`` into this process's environment, where EnvVar finds them.

    The runner can be given a mapping that is not ``os.environ`` (``Runner(environ)``); its
    secrets must still reach the resources as EnvVar references, never as values in the run.
    """
    import os

    for name in SECRET_VARIABLES:
        if environ.get(name):
            os.environ[name] = environ[name]


def _secret(environ: Mapping[str, str], name: str) -> Any:
    # An EnvVar of an unset variable fails every run, so only name the variable when it is set;
    # an absent secret then surfaces where it is needed, with its own message. The value itself
    # is never put into the definitions: Dagster would store it in every run's job snapshot.
    if not environ.get(name):
        return None
    return dg.EnvVar(name)


def _int_setting(environ: Mapping[str, str], name: str, default: int) -> int:
    value = environ.get(name)
    if not value:
        return default
    try:
        return int(value)
    except ValueError as err:
        raise ConfigError(
            name, f"{value!r} is not a whole number", fix=f"set {name} to e.g. {default}"
        ) from err


def build_resources(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The resources of the code location, from ICE_* settings (called when definitions load)."""
    import os

    from ice_pipeline.warehouse.analyst_file import analyst_path

    env = os.environ if environ is None else environ
    settings = load_settings(dict(env))
    config_file = env.get("ICE_CONFIG") or None
    security = (env.get("ICE_SMTP_SECURITY") or "starttls").strip().lower()
    if security not in {"starttls", "ssl", "none"}:
        raise ConfigError(
            "ICE_SMTP_SECURITY",
            f"{security!r} is not a known SMTP security mode",
            fix="use starttls (port 587), ssl (implicit TLS, port 465) or none (local relay)",
        )
    try:
        timeout = float(env.get("ICE_SMTP_TIMEOUT_SECONDS") or 30)
    except ValueError as err:
        raise ConfigError(
            "ICE_SMTP_TIMEOUT_SECONDS", "is not a number of seconds", fix="set it to e.g. 30"
        ) from err
    return {
        "warehouse": WarehouseResource(url=settings.warehouse_url),
        "pipeline": PipelineSettingsResource(
            data_dir=str(settings.data_dir),
            config_file=config_file,
            demo_mode=settings.demo_mode,
            pseudonym_salt=_secret(env, "ICE_PSEUDONYM_SALT"),
            analyst_file=str(analyst_path(settings.data_dir, dict(env))),
        ),
        "email": EmailResource(
            outbox_dir=str(settings.outbox_dir),
            smtp_host=env.get("ICE_SMTP_HOST") or None,
            smtp_port=_int_setting(env, "ICE_SMTP_PORT", 465 if security == "ssl" else 587),
            smtp_security=security,
            smtp_user=env.get("ICE_SMTP_USER") or None,
            smtp_password=_secret(env, "ICE_SMTP_PASSWORD"),
            from_address=env.get("ICE_SMTP_FROM") or "ice-pipeline@localhost.localdomain",
            timeout_seconds=timeout,
        ),
    }
