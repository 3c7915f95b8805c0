"""The security page's chart (Art. 39 监测、预警): signals raised per day, by kind, drawn with
the shared chart plumbing (``web.charts``: inline SVG, no script, no inline style), next to a
table of the same numbers. Each kind keeps its colour whichever kinds the chart shows."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date

import pygal  # type: ignore[import-untyped]
from markupsafe import Markup

from govdata.security.models import SignalKind
from govdata.web import charts
from govdata.web.charts import Colour

KIND_COLOURS: dict[SignalKind, Colour] = {
    SignalKind.BULK_READ: Colour.RED,
    SignalKind.OFF_HOURS_READ: Colour.YELLOW,
    SignalKind.PROBING: Colour.PURPLE,
    SignalKind.FAILED_SIGN_INS: Colour.BLUE,
    SignalKind.PERSONAL_EXPORT: Colour.GREEN,
}


def raised_chart(title: str, dates: Sequence[date], series: dict[SignalKind, list[int]]) -> Markup:
    """Stacked bars: one bar a day, one colour a kind."""
    config = charts.config(title, height=320)
    config.legend_at_bottom_columns = 3
    # Whole numbers on the axis: pygal's own scale splits a count of 1 into tenths.
    top = max((sum(day) for day in zip(*series.values(), strict=True)), default=0)
    step = max(math.ceil(top / 8), 1)
    config.y_labels = list(range(0, max(top, 1) + step, step))
    config.value_formatter = lambda v: f"{v:.0f}"
    chart = pygal.StackedBar(config)
    chart.x_labels = [d.strftime("%m-%d") for d in dates]
    for kind, values in series.items():
        chart.add(kind.label, list(values))
    return charts.render(chart, title, colors=[KIND_COLOURS[kind] for kind in series])
