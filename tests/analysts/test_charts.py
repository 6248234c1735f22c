"""The report's charts (lakehouse/charts.py), built from the notebook's own queries on the small lake and measured
as matplotlib draws them: value axes from zero or marked cut, no legend or note over a bar or a line, ticks with
thousands separators, money in its currency, a note on the first month, and the quarantine per reason and day."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from matplotlib.axes import Axes
from matplotlib.backend_bases import RendererBase
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.container import BarContainer
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from matplotlib.text import Annotation, Text
from matplotlib.transforms import Bbox

from lakehouse import charts
from lakehouse.warehouse import open_warehouse
from tests.analysts.helpers import notebook_queries

pytestmark = pytest.mark.dbt

# The small lake's figures stay below a thousand; the same rows times this reach the thousands a real lake has.
SCALE = 1000
# Four digits or more in a row, not after a decimal point: 0.0005 is grouped enough, 20000 is not.
UNGROUPED = re.compile(r"(?<![.,\d])\d{4,}")
MONEY = re.compile(r"revenue|order value|sales", re.I)


@pytest.fixture(scope="module")
def frames(small_lake: Path) -> dict[str, pd.DataFrame]:
    """What the notebook's queries return on the small lake, by the name the notebook gives each."""
    wh = open_warehouse("local", small_lake)
    return {name: wh.query(sql) for name, sql in notebook_queries().items()}


def scaled(frame: pd.DataFrame) -> pd.DataFrame:
    numbers = frame.select_dtypes("number").columns
    return frame.assign(**{c: frame[c].astype(float) * SCALE for c in numbers})


def demo_shaped(frames: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The months and countries `make demo` gives (three months of similar size, seven countries, one much larger):
    charts so full that a legend placed anywhere on the axes covers something. The other frames are scaled."""
    countries = {"US": 30, "GB": 12, "DE": 10, "FR": 8, "CA": 6, "JP": 5, "AU": 4}
    rows = [
        {
            "order_month": pd.Timestamp(2026, month, 1),
            "country": country,
            "revenue": share * 50_000 * (1 + month / 10),
            "order_count": share * 660 * (1 + month / 10),
            "avg_order_value": 75 + month + share / 10,
            "active_customers": share * 500,
            "new_customers": share * (500 if month == 1 else 120),
        }
        for month in (1, 2, 3)
        for country, share in countries.items()
    ]
    monthly = pd.DataFrame(rows)
    by_month = monthly.groupby("order_month", as_index=False)[["revenue", "order_count"]].sum()
    demo = {name: scaled(frame) for name, frame in frames.items()}
    demo["monthly"] = monthly
    demo["aov"] = by_month.assign(avg_order_value=by_month["revenue"] / by_month["order_count"])[
        ["order_month", "avg_order_value"]
    ]
    demo["customers"] = monthly.groupby("order_month", as_index=False)[
        ["active_customers", "new_customers"]
    ].sum()
    for name in ("monthly", "aov", "customers"):
        assert list(demo[name].columns) == list(frames[name].columns), (
            f"{name}: not the notebook query's columns"
        )
    return demo


def report_figures(frames: dict[str, pd.DataFrame]) -> dict[str, Figure]:
    """The five charts of the report, built as notebooks/exploration.ipynb builds them."""
    months = charts.country_months(frames["monthly"])
    return {
        "revenue and orders": charts.revenue_and_orders(months),
        "products": charts.top_products_and_categories(frames["products"]),
        "average order value": charts.average_order_value(
            frames["aov"], frames["monthly"], months.top_countries
        ),
        "customers": charts.new_and_returning_customers(charts.customer_months(frames["customers"])),
        "quarantine": charts.quarantine_per_reason_and_day(frames["quarantine"]),
    }


@pytest.fixture(scope="module", params=["small lake", f"small lake x{SCALE}", "demo-shaped"])
def figures(request: pytest.FixtureRequest, frames: dict[str, pd.DataFrame]) -> dict[str, Figure]:
    if request.param == "demo-shaped":
        return report_figures(demo_shaped(frames))
    if request.param != "small lake":
        frames = {name: scaled(frame) for name, frame in frames.items()}
    return report_figures(frames)


def drawn(fig: Figure) -> RendererBase:
    """Lay the figure out and draw it as savefig does; return the renderer that measured it."""
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return canvas.get_renderer()


def bars(ax: Axes) -> list[Rectangle]:
    return [patch for c in ax.containers if isinstance(c, BarContainer) for patch in c.patches]


def value_axes(ax: Axes) -> Iterator[str]:
    """The axes' value axis: x for horizontal bars, y for upright bars and lines."""
    orientations = {c.orientation for c in ax.containers if isinstance(c, BarContainer)}
    if "horizontal" in orientations:
        yield "x"
    if "vertical" in orientations or ax.get_lines():
        yield "y"


def overlaps(box: Bbox, ax: Axes, renderer: RendererBase) -> list[str]:
    """The bars and lines of `ax` that `box` (display coordinates) covers."""
    hits = [f"bar {i}" for i, bar in enumerate(bars(ax)) if bar.get_window_extent(renderer).overlaps(box)]
    for line in ax.get_lines():
        # A marker reaches past the path by its radius (points -> pixels).
        padded = box.padded(line.get_markersize() / 2 * renderer.points_to_pixels(1))
        path = line.get_transform().transform_path(line.get_path())
        if path.intersects_bbox(padded):
            hits.append(f"line {line.get_label()}")
    return hits


def overlays(fig: Figure) -> Iterator[tuple[str, object]]:
    """Legends, and notes (annotations) placed over the chart."""
    for legend in fig.legends:
        yield "figure legend", legend
    for ax in fig.axes:
        if ax.get_legend() is not None:
            yield f"legend of {ax.get_title()!r}", ax.get_legend()
        for text in ax.texts:
            if isinstance(text, Annotation):
                yield f"note {text.get_text()!r}", text


def test_no_legend_or_note_covers_a_bar_or_a_line(figures: dict[str, Figure]) -> None:
    for chart, fig in figures.items():
        renderer = drawn(fig)
        for name, overlay in overlays(fig):
            # A note's own text, not the arrow that has to reach the bar it points at.
            measure = (
                Text.get_window_extent if isinstance(overlay, Annotation) else type(overlay).get_window_extent
            )
            box = measure(overlay, renderer)
            covered = [hit for ax in fig.axes for hit in overlaps(box, ax, renderer)]
            assert covered == [], f"{chart}: the {name} covers {covered}"


def test_value_axes_start_at_zero_or_say_they_are_cut(figures: dict[str, Figure]) -> None:
    checked = 0
    for chart, fig in figures.items():
        drawn(fig)
        for ax in fig.axes:
            for axis in value_axes(ax):
                low = (ax.get_xlim() if axis == "x" else ax.get_ylim())[0]
                label, _ = axis_of(ax, axis)
                assert low == 0 or charts.CUT_MARK in label, (
                    f"{chart}, {ax.get_title()!r}: the {axis} axis starts at {low:,.2f} and says not that it is cut"
                )
                checked += 1
    assert checked >= 6


def axis_of(ax: Axes, axis: str) -> tuple[str, list[str]]:
    """The label and the tick labels of the x or y axis, as drawn."""
    ticks = ax.get_xticklabels() if axis == "x" else ax.get_yticklabels()
    return (ax.get_xlabel() if axis == "x" else ax.get_ylabel()), [t.get_text() for t in ticks]


def test_value_ticks_group_thousands_and_tell_apart(figures: dict[str, Figure]) -> None:
    for chart, fig in figures.items():
        drawn(fig)
        for ax in fig.axes:
            for axis in value_axes(ax):
                _, ticks = axis_of(ax, axis)
                assert [t for t in ticks if UNGROUPED.search(t)] == [], f"{chart}: {axis} ticks {ticks}"
                # Rounded too far, ticks repeat: 0, 0, 1, 1 on an axis running to 1.5.
                assert len(set(ticks)) == len(ticks), f"{chart}: {axis} ticks {ticks} repeat"


def test_money_axes_name_the_currency(figures: dict[str, Figure]) -> None:
    money_axes = 0
    for chart, fig in figures.items():
        for ax in fig.axes:
            for axis in value_axes(ax):
                label, _ = axis_of(ax, axis)
                if MONEY.search(f"{label} {ax.get_title()}"):
                    assert charts.CURRENCY in label, (
                        f"{chart}, {ax.get_title()!r}: {label!r} names no currency"
                    )
                    money_axes += 1
    assert money_axes >= 4


def test_the_first_month_carries_a_note_that_the_data_starts_there(figures: dict[str, Figure]) -> None:
    """Under the first month's bar (its tick label), or a note whose arrow points at that bar."""
    (ax,) = figures["customers"].axes
    drawn(ax.figure)
    first = min(bars(ax), key=lambda bar: bar.get_x())
    under = [
        t.get_text()
        for t in ax.get_xticklabels()
        if first.get_x() <= t.get_position()[0] <= first.get_x() + first.get_width()
    ]
    pointing = [
        text.get_text()
        for text in ax.texts
        if isinstance(text, Annotation) and first.get_x() <= text.xy[0] <= first.get_x() + first.get_width()
    ]
    assert [note for note in under + pointing if "data starts" in note], (
        "no note at the first month's bar says the data starts there"
    )


def test_the_quarantine_shows_each_reason_on_each_day(frames: dict[str, pd.DataFrame]) -> None:
    """A bar of its own per reason and ingest day (none stacked on another), with the legend naming the days."""
    quarantine = frames["quarantine"]
    days, reasons = quarantine["ingest_date"].nunique(), quarantine["reject_reason"].nunique()
    assert days >= 2 and reasons >= 2, "the small lake's quarantine should span days and reasons"
    (ax,) = charts.quarantine_per_reason_and_day(quarantine).axes
    drawn(ax.figure)
    shown = bars(ax)
    assert len(shown) == days * reasons
    # Stacked bars share a place on the category axis; side by side, each has its own.
    (orientation,) = {c.orientation for c in ax.containers if isinstance(c, BarContainer)}
    places = {round(bar.get_y() if orientation == "horizontal" else bar.get_x(), 6) for bar in shown}
    assert len(places) == len(shown), "bars of one day are stacked: each reason needs a bar of its own"
    legend = ax.get_legend() or next(iter(ax.figure.legends), None)
    assert legend is not None
    assert {t.get_text() for t in legend.get_texts()} == {
        str(day) for day in pd.to_datetime(quarantine["ingest_date"]).dt.strftime("%Y-%m-%d").unique()
    }


def test_the_quarantine_over_many_days_is_a_line_per_reason(frames: dict[str, pd.DataFrame]) -> None:
    """Past a week of ingest days: one line per reason, a point per day, ticks that do not run into each other."""
    one_day = frames["quarantine"]
    days = pd.date_range("2026-02-01", periods=charts.MANY_DAYS + 7, freq="D")
    quarantine = pd.concat(
        [
            one_day.assign(ingest_date=day.date(), rejected_rows=one_day["rejected_rows"] * n)
            for n, day in enumerate(days)
        ]
    )
    fig = charts.quarantine_per_reason_and_day(quarantine)
    renderer = drawn(fig)
    (ax,) = fig.axes
    lines: list[Line2D] = ax.get_lines()
    assert sorted(line.get_label() for line in lines) == sorted(quarantine["reject_reason"].unique())
    assert {len(line.get_xdata()) for line in lines} == {len(days)}
    ticks = [t.get_window_extent(renderer) for t in ax.get_xticklabels() if t.get_text()]
    assert ticks and not any(a.overlaps(b) for i, a in enumerate(ticks) for b in ticks[i + 1 :])
