"""The security page's chart (Art. 39 监测、预警): under the pages' strict CSP (no inline style)
and with one colour per kind of signal, whichever kinds it draws."""

from __future__ import annotations

from datetime import date, timedelta

from govdata.security.models import SignalKind

# pygal's import hook trips pytest's collection of later modules: charts are imported in tests.

DATES = [date(2026, 10, 1) + timedelta(days=i) for i in range(3)]


def test_the_chart_has_no_inline_style_or_script() -> None:
    from govdata.security.charts import raised_chart

    svg = str(raised_chart("近 3 天<b>", DATES, {k: [1, 0, 2] for k in SignalKind}))
    # Art. 39: pygal's inline <style> would be blocked by the CSP, and the chart drawn black.
    assert "<style" not in svg and "style=" not in svg and "<script" not in svg
    assert svg.startswith('<svg role="img" aria-label="近 3 天&lt;b&gt;"')
    assert "批量读取个人数据" in svg and "10-03" in svg


def test_each_kind_keeps_its_colour() -> None:
    from govdata.security.charts import KIND_COLOURS, raised_chart

    assert len(set(KIND_COLOURS.values())) == len(SignalKind)  # five kinds, five colours
    every = str(raised_chart("t", DATES, {k: [1, 1, 1] for k in SignalKind}))
    for index, kind in enumerate(SignalKind):
        assert f'class="series serie-{index} color-{KIND_COLOURS[kind].value}"' in every
    # Two kinds in the other order: still their own colours, not the first two of the palette.
    two = {SignalKind.PERSONAL_EXPORT: [1, 0, 0], SignalKind.PROBING: [0, 2, 0]}
    svg = str(raised_chart("t", DATES, two))
    export, probing = KIND_COLOURS[SignalKind.PERSONAL_EXPORT], KIND_COLOURS[SignalKind.PROBING]
    assert f'class="series serie-0 color-{export.value}"' in svg
    assert f'class="series serie-1 color-{probing.value}"' in svg


def test_whole_numbers_on_the_axis() -> None:
    from govdata.security.charts import raised_chart

    svg = str(raised_chart("t", DATES, {SignalKind.PROBING: [1, 0, 0]}))
    assert ">0.5<" not in svg and ">1<" in svg
