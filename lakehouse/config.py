"""One place for configuration: ``configs/<env>.yaml`` plus ``LAKEHOUSE_*`` environment overrides, validated at start."""

import dataclasses
import datetime as dt
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"
ENV_PREFIX = "LAKEHOUSE_"


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
    master: str = "local[2]"
    shuffle_partitions: int = 4
    driver_memory: str = "4g"

    def __post_init__(self) -> None:
        _check(self.shuffle_partitions >= 1, "spark.shuffle_partitions", self.shuffle_partitions, "1 or more")


@dataclasses.dataclass(frozen=True)
class DbtConfig:
    target: str = "local"


@dataclasses.dataclass(frozen=True)
class Config:
    lake: Path = Path("lake")
    ingest: IngestConfig = dataclasses.field(default_factory=IngestConfig)
    spark: SparkConfig = dataclasses.field(default_factory=SparkConfig)
    dbt: DbtConfig = dataclasses.field(default_factory=DbtConfig)


def _check(ok: bool, key: str, value: Any, expected: str) -> None:
    if not ok:
        raise ConfigError(f"{key} is {value!r}; it must be {expected}")


def _coerce(key: str, value: Any, kind: Any) -> Any:
    """Turn a YAML or environment value into the field's type, or say which key is wrong."""
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
        raise ConfigError(
            f"{key} is {value!r}; it must be of type {getattr(kind, '__name__', kind)}"
        ) from None
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
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(data, Mapping):
        raise ConfigError(f"{path} must hold a mapping of keys")
    return _build(Config, _merge(dict(data), _env_overrides(environ)), "")
