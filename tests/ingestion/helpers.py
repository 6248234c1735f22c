"""Independent oracles for the bronze CSV contract: only the standard library, none of the generator's code."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from decimal import Decimal, InvalidOperation
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HEADER = ["order_id", "order_date", "customer_id", "country", "product", "quantity", "unit_price"]
PRICE = re.compile(r"^\d+\.\d{2}$")


def seed_codes(name: str, column: str) -> set[str]:
    with (REPO / "seeds" / name).open(newline="") as handle:
        return {row[column] for row in csv.DictReader(handle)}


COUNTRIES = seed_codes("countries.csv", "country_code")
PRODUCTS = seed_codes("products.csv", "product_code")


def read_rows(data: bytes | str | Path) -> tuple[list[str], list[list[str]]]:
    """(header, data rows) parsed with the csv module."""
    if isinstance(data, Path):
        data = data.read_bytes()
    text = data.decode() if isinstance(data, bytes) else data
    header, *rows = list(csv.reader(io.StringIO(text, newline="")))
    return header, rows


def problems(fields: list[str], *, normalise: bool = False) -> list[str]:
    """Why a row breaks the bronze contract (empty list: valid). ``normalise`` trims and upper-cases codes first."""
    if len(fields) != len(HEADER):
        return [f"{len(fields)} fields"]
    if normalise:
        fields = [f.strip() for f in fields]
        fields[3], fields[4] = fields[3].upper(), fields[4].upper()
    order_id, order_date, customer, country, product, quantity, price = fields
    out = []
    if not re.fullmatch(r"[0-9a-f]{20}", order_id):
        out.append("order_id")
    try:
        if len(order_date) != 10:
            raise ValueError
        dt.date.fromisoformat(order_date)
    except ValueError:
        out.append("order_date")
    if not re.fullmatch(r"C\d{8}", customer):
        out.append("customer_id")
    if country not in COUNTRIES:
        out.append("country")
    if product not in PRODUCTS:
        out.append("product")
    if not re.fullmatch(r"\d+", quantity) or int(quantity) <= 0:
        out.append("quantity")
    try:
        if not PRICE.match(price) or Decimal(price) <= 0:
            out.append("unit_price")
    except InvalidOperation:
        out.append("unit_price")
    return out
