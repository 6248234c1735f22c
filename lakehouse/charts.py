"""The report's charts (notebooks/exploration.ipynb): each takes the frames the notebook's queries return and
gives a matplotlib Figure, so tests/analysts/test_charts.py can check their layout without running a kernel.

Every chart follows the same rules: value axes start at zero (or say they are cut, `mark_cut`), ticks group
thousands, money says its currency, and no legend or note sits on a bar or a line.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.axis import Axis
from matplotlib.figure import Figure
from matplotlib.ticker import Formatter, MaxNLocator

CURRENCY = "USD"
TOP_COUNTRIES = 5
# Past a week of ingest days, bars per reason and day get too thin to read: lines per reason instead.
MANY_DAYS = 7
FIGSIZE = (10, 4.2)
DPI = 96
# What a value axis' label carries when it does not start at zero.
CUT_MARK = "axis cut, not from zero"
FIRST_MONTH_NOTE = "{month}\nthe data starts here:\nevery customer is new"


class Grouped(Formatter):
    """Tick labels with thousands separators and as few decimals as tell the ticks apart exactly: 0, 0.25, 0.5
    on a small axis (a fixed `{:,.0f}` prints 0, 0, 0), 0, 5,000, 10,000 on a large one."""

    def __init__(self) -> None:
        self.decimals = 0

    def __call__(self, value: float, pos: int | None = None) -> str:
        return f"{value:,.{self.decimals}f}"

    def format_ticks(self, values: list[float]) -> list[str]:
        steps = [abs(b - a) for a, b in itertools.pairwise(values) if b != a]
        # Float ticks are not exact (0.1 * 3 is 0.30000000000000004): a millionth of a step is exact enough.
        tolerance = min(steps, default=1) * 1e-6
        self.decimals = next(
            (d for d in range(10) if all(abs(round(v, d) - v) <= tolerance for v in values)), 10
        )
        return [self(value) for value in values]


def counts(axis: Axis) -> None:
    """A value axis of counts: whole-number ticks, grouped."""
    axis.set_major_locator(MaxNLocator(integer=True))
    axis.set_major_formatter(Grouped())


def money(value: float) -> str:
    return f"{CURRENCY} {value:,.2f}"


def mark_cut(ax: Axes, axis: str = "y") -> None:
    """Say on the label that this value axis does not start at zero."""
    label = ax.yaxis.label if axis == "y" else ax.xaxis.label
    label.set_text(f"{label.get_text()} ({CUT_MARK})")


def figure(**subplots: object) -> tuple[Figure, list[Axes]]:
    """A figure whose constrained layout makes room for legends placed outside the axes, so none covers data."""
    fig = Figure(figsize=FIGSIZE, dpi=DPI, layout="constrained")
    axes = fig.subplots(squeeze=False, **subplots).ravel().tolist()
    for ax in axes:
        ax.spines[["top", "right"]].set_visible(False)
    return fig, axes


@dataclass(frozen=True)
class CountryMonths:
    """Revenue and orders per month (index "YYYY-MM") and country group: the largest countries, then other."""

    revenue: pd.DataFrame
    orders: pd.DataFrame
    top_countries: list[str]


def country_months(monthly: pd.DataFrame, top: int = TOP_COUNTRIES) -> CountryMonths:
    """From fct_country_monthly_kpis rows: the `top` countries by revenue, the rest summed as *other*."""
    months = monthly.assign(order_month=pd.to_datetime(monthly["order_month"]))
    top_countries = months.groupby("country")["revenue"].sum().nlargest(top).index.tolist()
    months["country_group"] = months["country"].where(months["country"].isin(top_countries), "other")

    def pivot(values: str) -> pd.DataFrame:
        table = months.pivot_table(
            index="order_month", columns="country_group", values=values, aggfunc="sum"
        ).fillna(0)
        return table.set_axis(table.index.strftime("%Y-%m"), axis="index")

    revenue = pivot("revenue")
    revenue = revenue[[*top_countries, *(["other"] if "other" in revenue else [])]]
    return CountryMonths(revenue, pivot("order_count")[revenue.columns], top_countries)


def revenue_and_orders(months: CountryMonths) -> Figure:
    fig, (left, right) = figure(ncols=2)
    months.revenue.div(1e6).plot.bar(stacked=True, ax=left, rot=0, width=0.7, legend=False)
    left.set(title="Revenue per month and country", xlabel="", ylabel=f"revenue ({CURRENCY} millions)")
    left.yaxis.set_major_formatter(Grouped())
    months.orders.plot(ax=right, marker="o", legend=False)
    right.set(title="Orders per month and country", xlabel="", ylabel="orders", ylim=(0, None))
    counts(right.yaxis)
    # One legend for both charts, below them: the same colours are the same countries in each.
    handles, names = left.get_legend_handles_labels()
    fig.legend(handles, names, title="country", loc="outside lower center", ncol=len(names), fontsize="small")
    return fig


def top_products_and_categories(products: pd.DataFrame) -> Figure:
    """From dim_products rows sorted by revenue, largest first."""
    categories = products.groupby("category")["total_revenue"].sum().sort_values()
    top = products.head(10).iloc[::-1]
    fig, (left, right) = figure(ncols=2, gridspec_kw={"width_ratios": [3, 2]})
    left.barh(top["product_name"], top["total_revenue"].astype(float) / 1e3, color="tab:blue")
    left.set(title="Top 10 products by revenue", xlabel=f"revenue ({CURRENCY} thousands)")
    right.barh(categories.index, categories.astype(float) / 1e3, color="tab:green")
    right.set(title="Revenue per category", xlabel=f"revenue ({CURRENCY} thousands)")
    for ax in (left, right):
        ax.xaxis.set_major_formatter(Grouped())
    return fig


def average_order_value(aov: pd.DataFrame, monthly: pd.DataFrame, top_countries: list[str]) -> Figure:
    """All countries (`aov`: order_month, avg_order_value) and each of `top_countries` from `monthly`."""
    by_country = monthly[monthly["country"].isin(top_countries)].pivot_table(
        index="order_month", columns="country", values="avg_order_value"
    )
    fig, (ax,) = figure()
    ax.plot(
        pd.to_datetime(aov["order_month"]).dt.strftime("%Y-%m"),
        aov["avg_order_value"].astype(float),
        marker="o",
        linewidth=3,
        color="black",
        label="all countries",
    )
    months = pd.to_datetime(by_country.index).strftime("%Y-%m")
    for country in by_country.columns:
        ax.plot(months, by_country[country].astype(float), marker=".", alpha=0.7, label=country)
    # From zero: a 2% change looks like 2%, not like a cliff.
    ax.set(title="Average order value per month", ylabel=f"revenue per order ({CURRENCY})", ylim=(0, None))
    ax.yaxis.set_major_formatter(Grouped())
    fig.legend(loc="outside right upper", fontsize="small")
    return fig


def customer_months(customers: pd.DataFrame) -> pd.DataFrame:
    """Active and new customers per month (index "YYYY-MM"), and the returning ones."""
    months = customers.set_index(pd.to_datetime(customers["order_month"]).dt.strftime("%Y-%m"))
    months = months.rename_axis("order_month")[["active_customers", "new_customers"]]
    return months.assign(returning_customers=months["active_customers"] - months["new_customers"])


def new_and_returning_customers(months: pd.DataFrame) -> Figure:
    """From `customer_months`."""
    fig, (ax,) = figure()
    months[["new_customers", "returning_customers"]].plot.bar(
        stacked=True, ax=ax, rot=0, color=["tab:orange", "tab:blue"]
    )
    ax.set(title="New and returning customers per month", xlabel="", ylabel="customers")
    counts(ax.yaxis)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small")
    # The data starts in the first month, so every customer is new there by construction: said under its bar,
    # where the note can cover no bar whatever their heights.
    ax.set_xticks(range(len(months)), [FIRST_MONTH_NOTE.format(month=months.index[0]), *months.index[1:]])
    return fig


def quarantine_per_reason_and_day(quarantine: pd.DataFrame) -> Figure:
    """From fct_orders_rejected_daily rows: a bar per reason and ingest day, or a line per reason over many."""
    fig, (ax,) = figure()
    ax.set(title="Rejected rows per reason and ingest day")
    if quarantine.empty:
        ax.text(0.5, 0.5, "no rejected rows", ha="center", va="center", transform=ax.transAxes)
        return fig
    per_day = quarantine.pivot_table(
        index="ingest_date", columns="reject_reason", values="rejected_rows", aggfunc="sum"
    ).fillna(0)
    per_day.index = pd.to_datetime(per_day.index).strftime("%Y-%m-%d")
    if len(per_day) <= MANY_DAYS:
        # A few ingest days: one bar per reason and day, reasons on the axis, sorted by size.
        per_reason = per_day.T.loc[per_day.sum().sort_values().index]
        per_reason.plot.barh(ax=ax, width=0.8)
        ax.set(xlabel="rejected rows", ylabel="")
        counts(ax.xaxis)
        for container in ax.containers:
            ax.bar_label(
                container, labels=[f"{v:,.0f}" for v in container.datavalues], fontsize="small", padding=2
            )
        title = "ingest day"
    else:
        # Many days: one line per reason over the days, every few days labelled.
        per_day.plot(ax=ax, rot=0, marker=".", ylim=(0, None))
        ax.set(xlabel="ingest day", ylabel="rejected rows")
        counts(ax.yaxis)
        title = "reason"
    ax.legend(title=title, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small")
    return fig
