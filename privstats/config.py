"""The typed configuration, loaded from one commented TOML file.

The packaged ``privstats.toml`` is both the file ``privstats init`` writes and the documentation
of every default; a test keeps it equal to the dataclass defaults below. Loading is strict:
an unknown setting or a value of the wrong type is a ``ConfigError`` naming the setting.
"""

from __future__ import annotations

import dataclasses
import enum
import os
import re
import tomllib
import types
import typing
import zoneinfo
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from privstats.exceptions import ConfigError
from privstats.schema import Action

CONFIG_FILE = "privstats.toml"
KEY_ENV = "PRIVSTATS_KEY_FILE"
CONFIG_ENV = "PRIVSTATS_CONFIG"
# The tabulation backend for this process and the report kernels it starts (``--engine``).
ENGINE_ENV = "PRIVSTATS_ENGINE"


class Rotation(enum.StrEnum):
    """How often the visitor-pseudonym key changes."""

    DAY = "day"
    MONTH = "month"
    NEVER = "never"


class LoginPolicy(enum.StrEnum):
    """What happens to the ``%u`` login field of an access log."""

    DROP = "drop"
    PERSON = "person"


@dataclass(frozen=True)
class KeyConfig:
    file: str = "~/.config/privstats/key"
    rotation: Rotation = Rotation.DAY


@dataclass(frozen=True)
class StoreConfig:
    path: str = "store"


@dataclass(frozen=True)
class IngestConfig:
    format: str = "combined"
    max_bad_ratio: float = 0.5
    max_line_bytes: int = 65536
    batch_lines: int = 1_000_000
    plausible_years: float = 3.0
    formats: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not 0.0 <= self.max_bad_ratio <= 1.0:
            raise ConfigError("ingest.max_bad_ratio must lie between 0 and 1")
        if not 0.0 < self.plausible_years <= 100.0:
            raise ConfigError("ingest.plausible_years must lie between 0 and 100")
        if self.max_line_bytes < 256:
            raise ConfigError("ingest.max_line_bytes must be at least 256")
        if self.batch_lines < 1000:
            raise ConfigError("ingest.batch_lines must be at least 1000")


_DEFAULT_ROUTE_WORDS = (
    "api", "v1", "v2", "app", "crm", "contacts", "companies", "deals", "tasks", "calendar",
    "invoices", "campaigns", "reports", "imports", "exports", "settings", "login", "logout",
    "register", "signup", "password", "reset", "search", "static", "assets", "css", "js",
    "img", "images", "fonts", "favicon.ico", "robots.txt", "sitemap.xml", "feed", "rss",
    "blog", "pricing", "about", "contact", "help", "docs", "u", "users", "profile", "edit",
    "new", "view", "delete", "admin", "dashboard", "health",
)  # fmt: skip


@dataclass(frozen=True)
class AnonymiseConfig:
    site_domains: tuple[str, ...] = ()
    network: bool = True
    ipv4_prefix: int = 16
    ipv6_prefix: int = 32
    login: LoginPolicy = LoginPolicy.DROP
    min_segment_clients: int = 10
    min_segment_networks: int = 3
    route_words: tuple[str, ...] = _DEFAULT_ROUTE_WORDS
    routes: tuple[str, ...] = ("/u/:user", "/users/:user")
    private_prefixes: tuple[str, ...] = ("/crm/", "/api/", "/m/api/")

    def __post_init__(self) -> None:
        if not 8 <= self.ipv4_prefix <= 24:
            raise ConfigError("anonymise.ipv4_prefix must lie between 8 and 24")
        if not 16 <= self.ipv6_prefix <= 48:
            raise ConfigError("anonymise.ipv6_prefix must lie between 16 and 48")
        if self.min_segment_clients < 1:
            raise ConfigError("anonymise.min_segment_clients must be at least 1")
        if self.min_segment_networks < 1:
            raise ConfigError("anonymise.min_segment_networks must be at least 1")
        for route in self.routes:
            if not route.startswith("/") or ":" not in route:
                raise ConfigError(
                    "anonymise.routes entries look like '/u/:user' (a path with a :name segment)"
                )
        for prefix in self.private_prefixes:
            if not prefix.startswith("/") or ":" in prefix:
                raise ConfigError(
                    "anonymise.private_prefixes entries look like '/crm/' (the start of a path)"
                )


@dataclass(frozen=True)
class RuleSet:
    """Disclosure-control parameters; every protected table records the set it used."""

    threshold: int = 10
    nk_n: int = 2
    nk_k: float = 90.0
    p_ratio: float = 10.0
    round_base: int = 5
    check_zeros: bool = False
    check_negative: bool = True
    check_missing: bool = True
    quantile_window: int = 5
    quantile_side: int = 5
    min_networks: int = 3

    def __post_init__(self) -> None:
        if self.min_networks < 0:
            raise ConfigError("disclosure.min_networks must be 0 (off) or more")
        if self.quantile_window < 2:
            raise ConfigError("disclosure.quantile_window must be at least 2")
        if self.quantile_side < 1:
            raise ConfigError("disclosure.quantile_side must be at least 1")
        if self.threshold < 1:
            raise ConfigError("disclosure.threshold must be at least 1")
        if self.nk_n < 1:
            raise ConfigError("disclosure.nk_n must be at least 1")
        if not 0 < self.nk_k <= 100:
            raise ConfigError("disclosure.nk_k is a percentage in (0, 100]")
        if not 0 <= self.p_ratio <= 100:
            raise ConfigError("disclosure.p_ratio is a percentage in [0, 100]")
        if self.round_base < 1:
            raise ConfigError("disclosure.round_base must be at least 1")

    def is_at_least_as_strict_as(self, other: RuleSet) -> bool:
        return (
            self.threshold >= other.threshold
            and self.nk_n >= other.nk_n
            and self.nk_k <= other.nk_k
            and self.p_ratio >= other.p_ratio
            and self.round_base >= other.round_base
            and self.quantile_window >= other.quantile_window
            and self.quantile_side >= other.quantile_side
            and self.min_networks >= other.min_networks
        )


@dataclass(frozen=True)
class DisclosureConfig(RuleSet):
    partners: dict[str, RuleSet] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__post_init__()
        base = self.rules()
        for name, rules in self.partners.items():
            if not rules.is_at_least_as_strict_as(base):
                raise ConfigError(
                    f"disclosure.partners.{name} relaxes the default rules; "
                    "it may only tighten them"
                )

    def rules(self, partner: str | None = None) -> RuleSet:
        """The rules for ``partner`` (its own tighter ones if configured), else the defaults."""
        if partner is not None and partner in self.partners:
            return self.partners[partner]
        return RuleSet(**{f.name: getattr(self, f.name) for f in dataclasses.fields(RuleSet)})


@dataclass(frozen=True)
class ReleaseConfig:
    folder: str = "reports/released"


@dataclass(frozen=True)
class DPConfig:
    """The ``[dp]`` section: differential privacy's budget, bounds and keys (see the TOML file
    for where each default comes from)."""

    rho_per_table: float = 0.005
    rho_per_day: float = 0.05
    rho_per_year: float = 1.0
    delta: float = 1e-5
    selection_delta: float = 1e-8
    max_cells: int = 10
    max_per_cell: int = 1
    clip: dict[str, int] = field(
        default_factory=lambda: {"response_us": 10_000_000, "bytes": 10_000_000,
                                 "records_affected": 100}
    )  # fmt: skip
    release_threshold: int = 0
    consistent: bool = True
    paths: tuple[str, ...] = ()
    public_partners: tuple[str, ...] = ()
    partners: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("rho_per_table", "rho_per_day", "rho_per_year"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"dp.{name} must be positive")
        if self.rho_per_table > min(self.rho_per_day, self.rho_per_year):
            raise ConfigError("dp.rho_per_table cannot exceed the daily or the yearly budget")
        if not 0 < self.delta < 1 or not 0 < self.selection_delta < self.delta:
            raise ConfigError("dp.delta lies in (0, 1) and dp.selection_delta below it")
        if self.max_cells < 1 or self.max_per_cell < 1:
            raise ConfigError("dp.max_cells and dp.max_per_cell must be at least 1")
        if self.release_threshold < 0:
            raise ConfigError("dp.release_threshold must not be negative")
        for column, bound in self.clip.items():
            if bound < 1:
                raise ConfigError(f"dp.clip.{column} must be at least 1")
        for path in self.paths:
            if not path.startswith("/"):
                raise ConfigError("dp.paths are path templates starting with '/'")

    def method_for(self, partner: str | None) -> str:
        """The protection method of a partner's reports: ``dp`` for the partners listed."""
        return "dp" if partner is not None and partner in self.partners else "suppress"


# Path templates of static files and of API calls (shell-style patterns): what is not one of
# them is a page view. The defaults cover the usual asset folders and file types.
_DEFAULT_ASSETS = (
    "/static/*", "/assets/*", "/css/*", "/js/*", "/img/*", "/images/*", "/fonts/*",
    "*.css", "*.js", "*.map", "*.png", "*.jpg", "*.jpeg", "*.gif", "*.svg", "*.ico", "*.webp",
    "*.woff", "*.woff2", "*.ttf", "*.xml", "*.txt", "*.json",
)  # fmt: skip
_DEFAULT_API = ("/api/*", "/m/api/*", "*/api/*", "/graphql")


@dataclass(frozen=True)
class ReportConfig:
    # The operator's time zone: days, hours and weekdays of the reports are local.
    timezone: str = "Europe/Warsaw"
    asset_patterns: tuple[str, ...] = _DEFAULT_ASSETS
    api_patterns: tuple[str, ...] = _DEFAULT_API

    def __post_init__(self) -> None:
        try:
            zoneinfo.ZoneInfo(self.timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ConfigError(
                f"report.timezone: unknown time zone '{self.timezone[:40]}'"
            ) from None
        for pattern in (*self.asset_patterns, *self.api_patterns):
            if not pattern or not (pattern.startswith("/") or pattern.startswith("*")):
                raise ConfigError(
                    "report.asset_patterns and api_patterns look like '/static/*' or '*.css'"
                )


class CrmKind(enum.StrEnum):
    """The four CRM inputs, named as their export files and default database tables are."""

    ORGANISATIONS = "organisations"
    ACCOUNTS = "accounts"
    CONTACT_FORMS = "contact_forms"
    ACTIVITY = "activity"


_SLUG = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
_TABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]{0,62}(\.[A-Za-z_][A-Za-z0-9_$]{0,62})?$")

DEFAULT_EXTERNAL_SYSTEMS = ("salesforce", "hubspot", "pipedrive", "subiekt")
BUILT_IN_CHANNELS = ("email", "google", "facebook")
BUILT_IN_SOURCES = ("web", "api", "mobile")
IMPORT_PREFIX = "import:"


@dataclass(frozen=True)
class CrmConfig:
    """The ``[crm]`` section: database table names, time zone, vocabularies of kept values."""

    # Database table per record kind (``schema.table`` allowed); kinds left out keep their name.
    tables: dict[str, str] = field(default_factory=dict)
    # Time zone of timestamps written without an offset.
    timezone: str = "UTC"
    # External systems accounts sign up through and activity is imported from.
    external_systems: tuple[str, ...] = DEFAULT_EXTERNAL_SYSTEMS
    plans: tuple[str, ...] = ("free", "team", "business", "enterprise")
    size_bands: tuple[str, ...] = ("1-9", "10-49", "50-249", "250+")
    industries: tuple[str, ...] = (
        "agriculture", "construction", "education", "finance", "healthcare", "hospitality",
        "it_services", "logistics", "manufacturing", "marketing", "real_estate", "retail",
        "other",
    )  # fmt: skip
    modules: tuple[str, ...] = (
        "contacts", "companies", "deals", "tasks", "calendar", "invoices", "campaigns",
        "reports", "imports",
    )  # fmt: skip
    topics: tuple[str, ...] = ("sales", "support", "billing", "partnership", "other")
    # Records read and validated at a time: memory stays bounded by this, whatever the size.
    batch_rows: int = 50_000
    # Seconds to wait for the database server to answer a connection.
    connect_timeout: int = 10

    def __post_init__(self) -> None:
        kinds = {k.value for k in CrmKind}
        for kind, table in self.tables.items():
            if kind not in kinds:
                raise ConfigError(
                    f"crm.tables.{kind} is not a CRM record kind (one of {', '.join(kinds)})"
                )
            if not _TABLE_NAME.match(table):
                raise ConfigError(f"crm.tables.{kind} must be a table name like 'crm.accounts'")
        try:
            zoneinfo.ZoneInfo(self.timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ConfigError(
                "crm.timezone must be an IANA time zone such as 'Europe/Warsaw'"
            ) from None
        for name in ("external_systems", "plans", "size_bands", "industries", "modules", "topics"):
            values = getattr(self, name)
            if not values:
                raise ConfigError(f"crm.{name} must not be empty")
            if name != "size_bands" and not all(_SLUG.match(v) for v in values):
                raise ConfigError(
                    f"crm.{name} entries are lowercase codes (letters, digits, '_', '-', '.')"
                )
        if not 100 <= self.batch_rows <= 10_000_000:
            raise ConfigError("crm.batch_rows must lie between 100 and 10000000")
        if not 1 <= self.connect_timeout <= 600:
            raise ConfigError("crm.connect_timeout must lie between 1 and 600 seconds")

    def table(self, kind: CrmKind) -> str:
        return self.tables.get(kind.value, kind.value)

    def vocabularies(self) -> Vocabularies:
        return Vocabularies(
            closed={
                "signup_channel": frozenset((*BUILT_IN_CHANNELS, *self.external_systems)),
                "plan": frozenset(self.plans),
                "size_band": frozenset(self.size_bands),
                "industry": frozenset(self.industries),
                "module": frozenset(self.modules),
                "action": frozenset(a.value for a in Action),
                "topic": frozenset(self.topics),
                "source": frozenset(
                    (*BUILT_IN_SOURCES, *(IMPORT_PREFIX + s for s in self.external_systems))
                ),
            },
            patterns={
                # Partners are businesses known by short keys; partner reports are addressed
                # to them, so any well-formed key is accepted.
                "partner": _SLUG.pattern,
                "country": r"^[A-Z]{2}$",
            },
        )


@dataclass(frozen=True)
class Vocabularies:
    """Closed value sets and strict patterns for the CODE columns."""

    closed: dict[str, frozenset[str]]
    patterns: dict[str, str]

    def uppercase(self, vocabulary: str) -> bool:
        return vocabulary == "country"


# The tabulation backends (``privstats.tabulate.backends.NAMES``; config cannot import it).
BACKENDS = ("polars", "duckdb", "spark")


_MEMORY = re.compile(r"^\d+(\.\d+)?\s?(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$")


@dataclass(frozen=True)
class EngineConfig:
    # Where a table's rows are read and reduced: "polars" (embedded) or "duckdb" (out of core).
    backend: str = "polars"
    # The memory DuckDB may hold before it spills to disk ("" : its own default, 80 % of RAM).
    duckdb_memory: str = ""

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ConfigError(
                f"engine.backend: unknown backend '{self.backend[:40]}'; "
                f"backends: {', '.join(BACKENDS)}"
            )
        if self.duckdb_memory and not _MEMORY.match(self.duckdb_memory):
            raise ConfigError("engine.duckdb_memory looks like '4GB' or '512MiB'")


@dataclass(frozen=True)
class Config:
    key: KeyConfig = field(default_factory=KeyConfig)
    store: StoreConfig = field(default_factory=StoreConfig)
    release: ReleaseConfig = field(default_factory=ReleaseConfig)
    ingest: IngestConfig = field(default_factory=IngestConfig)
    anonymise: AnonymiseConfig = field(default_factory=AnonymiseConfig)
    disclosure: DisclosureConfig = field(default_factory=DisclosureConfig)
    crm: CrmConfig = field(default_factory=CrmConfig)
    dp: DPConfig = field(default_factory=DPConfig)
    report: ReportConfig = field(default_factory=ReportConfig)
    engine: EngineConfig = field(default_factory=EngineConfig)
    # The folder relative paths are resolved against (the config file's folder).
    root: Path = field(default_factory=Path.cwd, compare=False, metadata={"toml": False})
    # The file it was loaded from (None: the defaults), for a report kernel to load it too.
    path: Path | None = field(default=None, compare=False, metadata={"toml": False})

    @property
    def store_path(self) -> Path:
        return (self.root / os.path.expanduser(self.store.path)).resolve()

    @property
    def released_path(self) -> Path:
        """The release area: released reports and their ledger."""
        return (self.root / os.path.expanduser(self.release.folder)).resolve()

    @property
    def key_path(self) -> Path:
        raw = os.environ.get(KEY_ENV) or self.key.file
        return (self.root / os.path.expanduser(raw)).resolve()

    @property
    def backend(self) -> str:
        """The tabulation backend: ``$PRIVSTATS_ENGINE`` (``--engine``), else ``[engine]``."""
        return EngineConfig(os.environ.get(ENGINE_ENV) or self.engine.backend).backend

    def with_store(self, path: Path) -> Config:
        return dataclasses.replace(self, store=StoreConfig(path=str(Path(path).resolve())))


def default_config_text() -> str:
    """The commented default configuration, as ``privstats init`` writes it."""
    return resources.files("privstats").joinpath(CONFIG_FILE).read_text(encoding="utf-8")


def find_config_file(start: Path | str | None = None) -> Path | None:
    """``$PRIVSTATS_CONFIG``, else the nearest ``privstats.toml`` in ``start`` (default: the
    working folder) or a folder above it, as git finds its repository; None if there is none.

    A notebook's kernel works in the notebook's folder (``notebooks/``), below the project's
    configuration: without the walk up it would read the default store, which is not there.
    """
    env = os.environ.get(CONFIG_ENV)
    if env:
        return Path(env)
    folder = Path(start or Path.cwd()).resolve()
    for candidate in (folder, *folder.parents):
        if (candidate / CONFIG_FILE).is_file():
            return candidate / CONFIG_FILE
    return None


def load_config(path: Path | str | None = None) -> Config:
    """Load the configuration.

    Without ``path``: the file :func:`find_config_file` finds, else the defaults.
    """
    if path is None:
        path = find_config_file()
        if path is None:
            return Config()
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read configuration {path}: {exc.strerror}") from None
    try:
        table = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    _inherit_partner_rules(table)
    config = _build(Config, table, "")
    return dataclasses.replace(config, root=path.resolve().parent, path=path.resolve())


def _inherit_partner_rules(table: dict[str, Any]) -> None:
    """A partner's section names only what it tightens; the rest comes from [disclosure]."""
    disclosure = table.get("disclosure")
    if not isinstance(disclosure, dict) or not isinstance(disclosure.get("partners"), dict):
        return
    base = {k: v for k, v in disclosure.items() if k != "partners"}
    for name, overrides in disclosure["partners"].items():
        if isinstance(overrides, dict):
            disclosure["partners"][name] = {**base, **overrides}


def _build(cls: type, table: Any, where: str) -> Any:
    if not isinstance(table, dict):
        raise ConfigError(f"setting '{where.rstrip('.')}' must be a table")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init and f.metadata.get("toml", True)}
    kwargs = {}
    for name, value in table.items():
        if name not in fields:
            raise ConfigError(f"unknown setting '{where}{name}'")
        kwargs[name] = _convert(hints[name], value, f"{where}{name}")
    return cls(**kwargs)


def _convert(hint: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(hint)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _build(hint, value, where + ".")
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        choices = [m.value for m in hint]
        if value not in choices:
            raise ConfigError(f"setting '{where}' must be one of {', '.join(choices)}")
        return hint(value)
    if origin is tuple:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"setting '{where}' must be a list of strings")
        return tuple(value)
    if origin is dict:
        _, value_type = typing.get_args(hint)
        if not isinstance(value, dict):
            raise ConfigError(f"setting '{where}' must be a table")
        return {k: _convert(value_type, v, f"{where}.{k}") for k, v in value.items()}
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        return _convert(args[0], value, where)
    ok = {
        bool: isinstance(value, bool),
        int: isinstance(value, int) and not isinstance(value, bool),
        float: isinstance(value, int | float) and not isinstance(value, bool),
        str: isinstance(value, str),
    }.get(hint)
    if ok is None:
        raise ConfigError(f"setting '{where}' has an unsupported type")  # pragma: no cover
    if not ok:
        raise ConfigError(f"setting '{where}' must be of type {hint.__name__}")
    return float(value) if hint is float else value
