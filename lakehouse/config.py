"""One place for configuration: ``configs/<env>.yaml`` plus ``LAKEHOUSE_*`` environment overrides, validated at start."""

import dataclasses
import datetime as dt
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from ingestion.dates import EARLIEST_ORDER_DATE, MAX_DAYS_AFTER_LANDING, OrderDateBounds

CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"
ENV_PREFIX = "LAKEHOUSE_"
FIRST_DATE = dt.date(1900, 1, 1)
# Spark's memory sizes: a number and a unit (no unit: MiB for spark.driver.memory)
MEMORY = re.compile(r"^([1-9][0-9]*)\s*(k|kb|m|mb|g|gb|t|tb)?$", re.IGNORECASE)
MEMORY_UNITS = {"k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}
# Spark refuses to start a driver below ~450 MiB
MIN_DRIVER_MEMORY = 512 * 2**20
MAX_SHUFFLE_PARTITIONS = 10_000
MASTER = re.compile(r"^(local(\[([1-9][0-9]*|\*)(,[1-9][0-9]*)?\])?|(spark|k8s|mesos)://\S+|yarn)$")
# Characters a local lake's path cannot hold: Spark and DuckDB read [ ] * ? { } in a path as a glob pattern,
# and dbt's SQL puts the path between single quotes.
LAKE_PATH_UNSAFE = "[]*?{}'"


class ConfigError(ValueError):
    """A configuration value is missing or wrong; the message says which key and what to fix."""


@dataclasses.dataclass(frozen=True)
class IngestConfig:
    rows: int = 200_000
    days: int = 90
    start_date: dt.date = dt.date(2026, 1, 1)
    seed: int = 42
    defect_rate: float = 0.0
    rows_per_file: int = 500_000

    def __post_init__(self) -> None:
        _check(1 <= self.rows <= 1_000_000_000, "ingest.rows", self.rows, "between 1 and 1,000,000,000")
        _check(1 <= self.days <= 3660, "ingest.days", self.days, "between 1 and 3660")
        last_start = dt.date.max - dt.timedelta(days=self.days - 1)
        _check(
            FIRST_DATE <= self.start_date <= last_start,
            "ingest.start_date",
            self.start_date,
            f"between {FIRST_DATE} and {last_start}, so that {self.days} days of orders end by {dt.date.max}",
        )
        _check(self.seed >= 0, "ingest.seed", self.seed, "0 or more")
        _check(0.0 <= self.defect_rate <= 1.0, "ingest.defect_rate", self.defect_rate, "between 0 and 1")
        _check(
            1_000 <= self.rows_per_file <= 1_000_000,
            "ingest.rows_per_file",
            self.rows_per_file,
            "between 1,000 and 1,000,000",
        )


@dataclasses.dataclass(frozen=True)
class SparkConfig:
    """Local Spark for ``lakehouse silver``; docs/operations.md "Bounded memory" says why these defaults."""

    master: str = "local[2]"
    shuffle_partitions: int = 16
    driver_memory: str = "2g"
    # where Spark spills; empty: <lake>/_tmp/spark
    local_dir: str = ""

    def __post_init__(self) -> None:
        _check(
            1 <= self.shuffle_partitions <= MAX_SHUFFLE_PARTITIONS,
            "spark.shuffle_partitions",
            self.shuffle_partitions,
            f"between 1 and {MAX_SHUFFLE_PARTITIONS:,} (16 keeps each shuffle partition of 30M orders small)",
        )
        _check(
            "," not in self.local_dir and not Path(self.local_dir or ".").expanduser().is_file(),
            "spark.local_dir",
            self.local_dir,
            "one folder where Spark may spill (created when missing), or empty for <lake>/_tmp/spark",
        )
        _check(
            bool(MASTER.match(self.master)),
            "spark.master",
            self.master,
            "a Spark master URL such as local[2], local[*] or spark://host:7077",
        )
        size = memory_bytes(self.driver_memory)
        _check(
            size is not None and size >= MIN_DRIVER_MEMORY,
            "spark.driver_memory",
            self.driver_memory,
            "a size of at least 512m, such as 2g or 2048m",
        )
        physical = physical_memory()
        if physical and size is not None:
            _check(
                size <= physical,
                "spark.driver_memory",
                self.driver_memory,
                f"at most this machine's memory ({physical / 2**30:.1f} GiB)",
            )


def memory_bytes(text: str) -> int | None:
    """A Spark memory size (``4g``, ``4096m``, ``512``: MiB) in bytes; None when it is not one."""
    match = MEMORY.match(str(text).strip())
    if not match:
        return None
    unit = (match.group(2) or "m")[0].lower()
    return int(match.group(1)) * MEMORY_UNITS[unit]


def physical_memory() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        # not every platform tells
        return None


@dataclasses.dataclass(frozen=True)
class OrderDatesConfig:
    """The valid order dates (`ingestion.dates`): ``lakehouse ingest`` refuses to write others."""

    earliest: dt.date = EARLIEST_ORDER_DATE
    max_days_after_landing: int = MAX_DAYS_AFTER_LANDING

    def __post_init__(self) -> None:
        _check(
            FIRST_DATE <= self.earliest <= dt.date.today(),
            "order_dates.earliest",
            self.earliest,
            f"a date between {FIRST_DATE} and today",
        )
        _check(
            0 <= self.max_days_after_landing <= 31,
            "order_dates.max_days_after_landing",
            self.max_days_after_landing,
            "between 0 and 31 (days an order date may be after the day its file landed, UTC)",
        )

    @property
    def bounds(self) -> OrderDateBounds:
        return OrderDateBounds(self.earliest, self.max_days_after_landing)


@dataclasses.dataclass(frozen=True)
class DbtConfig:
    target: str = "local"


@dataclasses.dataclass(frozen=True)
class Config:
    lake: Path = Path("lake")
    ingest: IngestConfig = dataclasses.field(default_factory=IngestConfig)
    spark: SparkConfig = dataclasses.field(default_factory=SparkConfig)
    order_dates: OrderDatesConfig = dataclasses.field(default_factory=OrderDatesConfig)
    dbt: DbtConfig = dataclasses.field(default_factory=DbtConfig)

    def __post_init__(self) -> None:
        check_lake(self.lake)


def check_lake(lake: Path) -> None:
    """A lake path every stage can use: a folder (or nothing yet), without glob characters or quotes."""
    unsafe = sorted({c for c in str(lake) if c in LAKE_PATH_UNSAFE})
    _check(
        not unsafe,
        "lake",
        str(lake),
        f"a path without {' '.join(unsafe)} (Spark and DuckDB read [ ] * ? {{ }} as a file pattern, and ' ends "
        "a SQL string): move the lake or pass --lake with another folder",
    )
    _check(
        not lake.exists() or lake.is_dir(),
        "lake",
        str(lake),
        "a folder, but it is a file: pass --lake with a folder (it is created when missing)",
    )


def check_ingest_dates(
    ingest: IngestConfig, order_dates: OrderDatesConfig, ingested_at: dt.datetime | None, now: dt.datetime
) -> None:
    """Refuse an ingest stamped later than now (plus the skew), or whose orders fall outside the valid order dates
    for its landing time (``ingested_at``, default ``now``): silver would quarantine every row of it."""
    bounds = order_dates.bounds
    if ingested_at is not None:
        problem = bounds.landing_problem(ingested_at, now)
        _check(problem is None, "--ingested-at", ingested_at, str(problem))
    latest = bounds.latest(ingested_at or now)
    last_start = latest - dt.timedelta(days=ingest.days - 1)
    _check(
        bounds.earliest <= ingest.start_date <= last_start,
        "ingest.start_date",
        ingest.start_date,
        f"between {bounds.earliest} (order_dates.earliest) and {last_start}, so that {ingest.days} days of orders "
        f"end by {latest} (the landing day + order_dates.max_days_after_landing, {bounds.max_days_after_landing} "
        "day): pass another --start-date or fewer --days",
    )


def _check(ok: bool, key: str, value: Any, expected: str) -> None:
    if not ok:
        shown = value.isoformat() if isinstance(value, dt.date) else repr(value)
        raise ConfigError(f"{key} is {shown}; it must be {expected}")


def _env_name(key: str) -> str:
    """The environment variable that overrides ``key``: ``ingest.start_date`` -> ``LAKEHOUSE_INGEST__START_DATE``."""
    return ENV_PREFIX + key.upper().replace(".", "__")


def _coerce(key: str, value: Any, kind: Any) -> Any:
    """Turn a YAML or environment value into the field's type, or say which key is wrong."""
    # An empty path would be the current folder (Path('') is '.'), and a YAML key left empty is None, which
    # str() would turn into a folder named 'None': neither is what anyone meant.
    if value is None or (kind is Path and not str(value).strip()):
        raise ConfigError(
            f"{key} is empty; it must be {'a folder path' if kind is Path else 'a value'}: set it, or unset "
            f"{_env_name(key)} and remove the key from the config file to get the default"
        )
    try:
        if kind is int:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError
            return int(str(value).replace("_", ""))
        if kind is float:
            return float(value)
        if kind is dt.date:
            return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
        if kind is Path:
            return Path(str(value)).expanduser()
        if kind is str:
            if isinstance(value, Mapping | list):
                raise ValueError
            return str(value)
    except ValueError:
        expected = "a date that exists, written YYYY-MM-DD" if kind is dt.date else f"of type {kind.__name__}"
        raise ConfigError(f"{key} is {value!r}; it must be {expected}") from None
    raise ConfigError(f"{key}: unsupported type {kind!r}")  # pragma: no cover - a programming error


def _build(cls: Any, data: Mapping[str, Any], prefix: str) -> Any:
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(f"unknown key {prefix}{unknown[0]}; known keys: {', '.join(sorted(fields))}")
    values = {}
    for name, value in data.items():
        kind = fields[name].type
        if dataclasses.is_dataclass(kind):
            if not isinstance(value, Mapping):
                raise ConfigError(f"{prefix}{name} must be a mapping of keys, not {value!r}")
            values[name] = _build(kind, value, f"{prefix}{name}.")
        else:
            values[name] = _coerce(f"{prefix}{name}", value, kind)
    return cls(**values)


class _Loader(yaml.SafeLoader):
    """YAML's safe loader, but a date stays text: `_coerce` parses it and names the key of an impossible one
    (``2025-02-30``), where PyYAML's own date parsing would raise a bare ValueError with no key."""


_Loader.add_constructor("tag:yaml.org,2002:timestamp", yaml.SafeLoader.construct_scalar)


def _env_overrides(environ: Mapping[str, str]) -> dict[str, Any]:
    """``LAKEHOUSE_INGEST__ROWS=5`` becomes ``{"ingest": {"rows": "5"}}``."""
    out: dict[str, Any] = {}
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX) or name in {"LAKEHOUSE_ENV"}:
            continue
        path = name[len(ENV_PREFIX) :].lower().split("__")
        node = out
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = value
    return out


def _merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merge(dict(merged[key]), value)
        else:
            merged[key] = value
    return merged


def load_config(
    env: str | None = None, environ: Mapping[str, str] | None = None, config_dir: Path = CONFIG_DIR
) -> Config:
    """Read ``configs/<env>.yaml`` (env defaults to ``$LAKEHOUSE_ENV`` or ``local``), apply environment overrides
    and validate. Raises :class:`ConfigError` with a one-line message on any bad value."""
    environ = os.environ if environ is None else environ
    env = env or environ.get("LAKEHOUSE_ENV", "local")
    path = config_dir / f"{env}.yaml"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in config_dir.glob("*.yaml")))
        raise ConfigError(f"no configuration for environment {env!r}: {path} does not exist (known: {known})")
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader) or {}
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path} is not UTF-8 text (byte {exc.object[exc.start]:#04x} at offset {exc.start}): save it as UTF-8"
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(data, Mapping):
        raise ConfigError(f"{path} must hold a mapping of keys")
    return _build(Config, _merge(dict(data), _env_overrides(environ)), "")
