"""Quality charts (Art. 20): the quality measures as percentages, drawn with the shared chart
plumbing (``web.charts``: inline SVG, no script, no inline style, one stylesheet).

Values are ratios from 0 to 1 and are drawn as percentages; a missing value (None) is a gap.
Each chart stands next to a table of the same numbers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Protocol

import pygal  # type: ignore[import-untyped]
from markupsafe import Markup

from govdata.web import charts

Series = dict[str, Sequence[float | None]]
LABEL_EM = 16  # bar labels longer than this are cut with …; the table has the full name


def _config(title: str, *, height: int) -> pygal.Config:
    config = charts.config(title, height=height)
    config.range = (0, 100)
    config.include_x_axis = True
    config.value_formatter = lambda v: f"{v:.1f}%"
    config.legend_at_bottom_columns = 4
    config.show_minor_x_labels = True
    return config


def _percent(values: Sequence[float | None]) -> list[float | None]:
    return [round(v * 100, 2) if v is not None else None for v in values]


def line_chart(title: str, x_labels: Sequence[str], series: Series) -> Markup:
    """A trend: one line per series over ``x_labels`` (loads or days)."""
    chart = pygal.Line(_config(title, height=360))
    chart.x_labels = list(x_labels)
    chart.x_label_rotation = 30 if len(x_labels) > 8 else 0
    chart.show_dots = True
    if x_labels:
        for name, values in series.items():
            chart.add(name, _percent(values))
    return charts.render(chart, title)


def bar_chart(title: str, labels: Sequence[str], series: Series) -> Markup:
    """Horizontal grouped bars, one group per label (departments, pools), top to bottom in the
    given order: long Chinese names read better down the side than slanted along the bottom."""
    groups = max(len(labels), 1)
    height = min(max(220, 70 + groups * (14 * max(len(series), 1) + 12)), 2400)
    config = _config(title, height=height)
    names = [charts.truncate(label, LABEL_EM) for label in labels]
    # The labels stand left of the bars: widen the margin by what pygal underestimates.
    extra = max((charts.units(n) - 0.6 * len(n) for n in names), default=0.0)
    config.margin_left = 20 + int(extra * charts.LABEL_FONT_SIZE) + 4
    config.truncate_label = -1
    chart = pygal.HorizontalBar(config)
    # pygal draws the first label at the bottom: reversed, the chart reads down like the table.
    chart.x_labels = names[::-1]
    if labels:
        for name, values in series.items():
            chart.add(name, _percent(values)[::-1])
    return charts.render(chart, title)


class HasMetrics(Protocol):
    @property
    def completeness(self) -> float | None: ...
    @property
    def validity(self) -> float | None: ...
    @property
    def uniqueness(self) -> float | None: ...
    @property
    def consistency(self) -> float | None: ...


def metric_series(rows: Sequence[HasMetrics]) -> Series:
    """The four quality measures of ``rows`` (snapshots or means) as series named in zh-CN."""
    return {
        "完整性": [r.completeness for r in rows],
        "有效性": [r.validity for r in rows],
        "唯一性": [r.uniqueness for r in rows],
        "一致性": [r.consistency for r in rows],
    }


COUNT_TOP = 15


def count_bars(title: str, values: Sequence[tuple[str, int]], series: str) -> Markup:
    """Horizontal bars of the ``COUNT_TOP`` largest counts (whole numbers), largest on top."""
    shown = sorted(values, key=lambda v: -v[1])[:COUNT_TOP][::-1]  # pygal draws the first lowest
    config = charts.config(title, height=max(200, 110 + 32 * len(shown)))
    top = max((n for _, n in shown), default=0)
    step = max(math.ceil(top / 8), 1)
    config.y_labels = list(range(0, max(top, 1) + step, step))
    config.value_formatter = lambda v: f"{v:.0f}"
    names = [charts.truncate(name, LABEL_EM) for name, _ in shown]
    extra = max((charts.units(n) - 0.6 * len(n) for n in names), default=0.0)
    config.margin_left = 20 + int(extra * charts.LABEL_FONT_SIZE) + 4
    config.truncate_label = -1
    config.show_legend = False
    chart = pygal.HorizontalBar(config)
    chart.x_labels = names
    chart.add(series, [n for _, n in shown])
    return charts.render(chart, title)
