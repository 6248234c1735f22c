"""Reference data (countries, products) read from the one source of truth: ``seeds/*.csv``.

The Lambda package build copies ``seeds/*.csv`` to ``ingestion/reference/``; in the repository the files are
read from ``seeds/`` directly, so there is never a second committed copy."""

from __future__ import annotations

import csv
import functools
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

import numpy as np

PACKAGED_DIR = Path(__file__).resolve().parent / "reference"
REPO_SEEDS_DIR = Path(__file__).resolve().parent.parent / "seeds"
FILES = ("countries.csv", "products.csv")


class ReferenceError(ValueError):
    """A reference file is missing or has a bad value; the message names the file, row and column."""


# eq=False: hashed by identity, so caches can key on it
@dataclass(frozen=True, eq=False)
class Reference:
    """Countries and products as parallel arrays, in seed-file order."""

    country_codes: tuple[str, ...]
    # float64, sums to 1
    country_weights: np.ndarray
    product_codes: tuple[str, ...]
    product_categories: tuple[str, ...]
    # int64
    list_price_cents: np.ndarray
    # float64, sums to 1
    product_weights: np.ndarray
    source_dir: Path


def reference_dir() -> Path:
    """``ingestion/reference/`` when the package build put both files there, else the repository's ``seeds/``."""
    if all((PACKAGED_DIR / name).is_file() for name in FILES):
        return PACKAGED_DIR
    return REPO_SEEDS_DIR


def _read(path: Path, columns: tuple[str, ...]) -> list[dict[str, str]]:
    if not path.is_file():
        raise ReferenceError(f"reference file {path} not found")
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in columns if c not in (reader.fieldnames or [])]
        if missing:
            raise ReferenceError(f"{path.name}: missing column(s) {', '.join(missing)}")
        rows = [{k: (v or "").strip() for k, v in row.items() if k is not None} for row in reader]
    if not rows:
        raise ReferenceError(f"{path.name}: no data rows")
    return rows


def _positive(path: Path, line: int, column: str, text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ReferenceError(f"{path.name} line {line}: {column} {text!r} is not a number") from None
    if not value.is_finite() or value <= 0:
        raise ReferenceError(f"{path.name} line {line}: {column} {text!r} must be positive")
    return value


def _unique_codes(path: Path, codes: list[str], column: str) -> None:
    seen: set[str] = set()
    for line, code in enumerate(codes, start=2):
        if not code or code != code.upper() or code in seen:
            raise ReferenceError(
                f"{path.name} line {line}: {column} {code!r} is empty, not upper-case or repeated"
            )
        seen.add(code)


def _frozen(array: np.ndarray) -> np.ndarray:
    # shared through the cache: nobody may change it
    array.setflags(write=False)
    return array


def _normalise(weights: list[Decimal]) -> np.ndarray:
    array = np.array([float(w) for w in weights], dtype=np.float64)
    return _frozen(array / array.sum())


def load_reference(directory: Path | None = None) -> Reference:
    """Read and validate ``countries.csv`` and ``products.csv`` from ``directory`` (default: `reference_dir`).

    Cached per directory: a warm Lambda reads the files once."""
    return _load(Path(directory).resolve() if directory is not None else reference_dir())


@functools.lru_cache(maxsize=8)
def _load(directory: Path) -> Reference:
    countries_path, products_path = directory / "countries.csv", directory / "products.csv"
    countries = _read(countries_path, ("country_code", "order_weight"))
    products = _read(products_path, ("product_code", "category", "list_price", "popularity_weight"))

    country_codes = [row["country_code"] for row in countries]
    _unique_codes(countries_path, country_codes, "country_code")
    country_weights = [
        _positive(countries_path, i, "order_weight", row["order_weight"])
        for i, row in enumerate(countries, 2)
    ]

    product_codes = [row["product_code"] for row in products]
    _unique_codes(products_path, product_codes, "product_code")
    prices = [
        _positive(products_path, i, "list_price", row["list_price"]) for i, row in enumerate(products, 2)
    ]
    for line, price in enumerate(prices, start=2):
        if price != price.quantize(Decimal("0.01")):
            raise ReferenceError(
                f"{products_path.name} line {line}: list_price {price} has more than 2 decimals"
            )
    popularity = [
        _positive(products_path, i, "popularity_weight", row["popularity_weight"])
        for i, row in enumerate(products, 2)
    ]
    return Reference(
        country_codes=tuple(country_codes),
        country_weights=_normalise(country_weights),
        product_codes=tuple(product_codes),
        product_categories=tuple(row["category"] for row in products),
        list_price_cents=_frozen(np.array([int(p * 100) for p in prices], dtype=np.int64)),
        product_weights=_normalise(popularity),
        source_dir=directory,
    )
