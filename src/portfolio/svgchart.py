"""Inline SVG charts and figures rounded for people, for the HTML report.

Plain strings, no plotting library: a chart is an ``<svg>`` element with a ``viewBox``, so it
scales with the page and prints sharply. Each bar of a bar chart is a ``<g class="bar">`` holding
one ``<rect class="segment">`` per stacked series, with its figures in ``data-*`` attributes.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

__all__ = [
    "PALETTE", "bar_chart", "escape", "fmt_number", "fmt_share", "fmt_signed", "legend",
    "nice_ticks", "xy_chart",
]

PALETTE = ("#2b6a99", "#c4573a", "#4b9a5f", "#d9a21b", "#7a5aa6", "#3a9aa3", "#a0522d", "#6b6b6b")


def escape(value: Any) -> str:
    """Text made safe for HTML content and attribute values."""
    return html.escape(str(value), quote=True)


_esc = escape


# ---------------------------------------------------------------------- formatting
def fmt_number(value: float | None) -> str:
    """A figure rounded for people: thousands separators; whole numbers from 100 up; one
    decimal from 1; two below."""
    if value is None or not math.isfinite(value):
        return "—"
    size = abs(value)
    if size >= 100 or float(value).is_integer():
        text = f"{value:,.0f}"
    elif size >= 1:
        text = f"{value:,.1f}".removesuffix(".0")
    else:
        text = f"{value:.2f}"
    return "0" if text in ("-0", "-0.00") else text


def fmt_share(value: float | None) -> str:
    """A share as a percentage with one decimal."""
    if value is None or not math.isfinite(value):
        return "—"
    return f"{100 * value:.1f}%"


def fmt_signed(value: float, *operands: float) -> str:
    """A difference with its sign. Given the two figures it is the difference of, it is rounded
    as the larger of them is by :func:`fmt_number`, so "2,506 against 2,566" reads (−60), never
    (−60.4)."""
    text = fmt_number(abs(value))
    if operands:
        size = max(abs(v) for v in operands)
        if size >= 100:
            text = f"{abs(value):,.0f}"
        elif size >= 1 and not float(abs(value)).is_integer():
            text = f"{abs(value):,.1f}".removesuffix(".0")
    if text == "0":
        return "±0"
    return ("+" if value > 0 else "−") + text


# ---------------------------------------------------------------------- SVG charts
WIDTH, HEIGHT = 720, 300
LEFT, RIGHT, TOP, BOTTOM = 78, 16, 16, 46


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering [low, high]."""
    if high <= low:
        high = low + 1.0
    raw = (high - low) / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    start = math.floor(low / step) * step
    ticks = []
    value = start
    while value <= high + step * 1e-9:
        ticks.append(round(value, 10))
        value += step
    if ticks[-1] < high:
        ticks.append(round(value, 10))
    return ticks


def _tick_text(value: float) -> str:
    size = abs(value)
    if size >= 1e6:
        return f"{value / 1e6:,.4g}m"
    if size >= 1e4:
        return f"{value / 1e3:,.4g}k"
    return f"{value:,.4g}"


def bar_chart(
    chart_id: str,
    categories: Sequence[str],
    series: Sequence[tuple[str, Sequence[float], str]],
    *,
    y_label: str = "",
    lines: Sequence[tuple[str, Sequence[float | None], str, bool]] = (),
    whole: bool = False,
    labels: bool = False,
    zero: bool = True,
) -> str:
    """Stacked bars (one ``<g class="bar">`` per category) with optional line overlays.

    Args:
        chart_id: the svg element's id.
        categories: one bar per category.
        series: (name, value per category, colour), stacked in order.
        y_label: the vertical axis title.
        lines: (name, value per category or None, colour, dashed) drawn over the bars.
        whole: the axis counts whole things (integer ticks).
        labels: write each bar's total above it.
        zero: the axis starts at 0 (else it starts near the smallest value shown).
    """
    totals = [math.fsum(max(0.0, s[1][i]) for s in series) for i in range(len(categories))]
    tops = totals + [v for _, vals, _, _ in lines for v in vals if v is not None]
    high = max(tops) if tops else 1.0
    low = 0.0
    if not zero and tops:
        smallest = min(tops)
        low = max(0.0, smallest - (high - smallest) * 0.6 - 0.02 * high)
    ticks = nice_ticks(low, high * 1.02 if high > 0 else 1.0)
    if whole:
        ticks = [t for t in ticks if float(t).is_integer()] or [0.0, 1.0]
    low, high = ticks[0], ticks[-1]
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def y_of(value: float) -> float:
        return TOP + plot_h * (1 - (value - low) / (high - low))

    out = [_svg_open(chart_id, y_label)]
    out += _y_axis(ticks, y_of, y_label)
    slot = plot_w / max(1, len(categories))
    bar_w = min(90.0, slot * 0.6)
    for i, category in enumerate(categories):
        x = LEFT + slot * i + (slot - bar_w) / 2
        out.append(f'<g class="bar" data-category="{_esc(category)}" '
                   f'data-total="{totals[i]!r}">')
        base = 0.0
        for name, values, color in series:
            value = max(0.0, values[i])
            if value <= 0:
                continue
            y0, y1 = y_of(max(low, base)), y_of(max(low, base + value))
            out.append(
                f'<rect class="segment" data-series="{_esc(name)}" data-value="{value!r}" '
                f'x="{x:.1f}" y="{y1:.1f}" width="{bar_w:.1f}" height="{max(0.0, y0 - y1):.1f}" '
                f'fill="{color}"><title>{_esc(category)}: {_esc(name)} '
                f"{_esc(fmt_number(value))}</title></rect>"
            )
            base += value
        if labels:
            out.append(f'<text x="{x + bar_w / 2:.1f}" y="{y_of(totals[i]) - 4:.1f}" '
                       f'text-anchor="middle" font-size="12">{_esc(fmt_number(totals[i]))}</text>')
        out.append("</g>")
        out.append(f'<text x="{x + bar_w / 2:.1f}" y="{HEIGHT - BOTTOM + 18}" '
                   f'text-anchor="middle" font-size="12">{_esc(category)}</text>')
    for line_name, line_values, color, dashed in lines:
        points = [
            (LEFT + slot * i + slot / 2, y_of(v))
            for i, v in enumerate(line_values)
            if v is not None
        ]
        if not points:
            continue
        dash = ' stroke-dasharray="6 4"' if dashed else ""
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        out.append(f'<g class="line" data-series="{_esc(line_name)}"><polyline points="{path}" '
                   f'fill="none" stroke="{color}" stroke-width="2.5"{dash}/>')
        out += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{color}"/>' for x, y in points]
        out.append("</g>")
    out.append("</svg>")
    return "".join(out)


def xy_chart(
    chart_id: str,
    series: Sequence[tuple[str, Sequence[tuple[float, float, str]]]],
    *,
    x_label: str,
    y_label: str,
    connect: bool = True,
    marks: Sequence[tuple[str, float, float, str]] = (),
) -> str:
    """Points (x, y, label) per series, joined by lines; ``marks`` are labelled reference points
    (today, the plan)."""
    xs = [p[0] for _, pts in series for p in pts] + [m[1] for m in marks]
    ys = [p[1] for _, pts in series for p in pts] + [m[2] for m in marks]
    if not xs:
        xs, ys = [0.0, 1.0], [0.0, 1.0]
    xt = nice_ticks(min(xs), max(xs) if max(xs) > min(xs) else min(xs) + 1)
    yt = nice_ticks(min(ys), max(ys) if max(ys) > min(ys) else min(ys) + 1)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x_of(value: float) -> float:
        return LEFT + plot_w * (value - xt[0]) / (xt[-1] - xt[0])

    def y_of(value: float) -> float:
        return TOP + plot_h * (1 - (value - yt[0]) / (yt[-1] - yt[0]))

    out = [_svg_open(chart_id, f"{y_label} against {x_label}")]
    out += _y_axis(yt, y_of, y_label)
    for tick in xt:
        out.append(f'<text x="{x_of(tick):.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" '
                   f'font-size="11" fill="#5c6670">{_esc(_tick_text(tick))}</text>')
    out.append(f'<text x="{LEFT + plot_w / 2:.1f}" y="{HEIGHT - 8}" text-anchor="middle" '
               f'font-size="12" fill="#1d2329">{_esc(x_label)}</text>')
    for index, (name, points) in enumerate(series):
        color = PALETTE[index % len(PALETTE)]
        out.append(f'<g class="series" data-series="{_esc(name)}">')
        if connect and len(points) > 1:
            path = " ".join(f"{x_of(x):.1f},{y_of(y):.1f}" for x, y, _ in points)
            out.append(f'<polyline points="{path}" fill="none" stroke="{color}" '
                       'stroke-width="2"/>')
        for x, y, label in points:
            out.append(f'<circle class="point" cx="{x_of(x):.1f}" cy="{y_of(y):.1f}" r="4" '
                       f'fill="{color}"><title>{_esc(fmt_number(x))}, {_esc(fmt_number(y))}'
                       f"</title></circle>")
            if label:
                out.append(f'<text x="{x_of(x):.1f}" y="{y_of(y) - 8:.1f}" text-anchor="middle" '
                           f'font-size="10" fill="#5c6670">{_esc(label)}</text>')
        out.append("</g>")
    for label, x, y, color in marks:
        out.append(f'<g class="mark" data-mark="{_esc(label)}"><rect x="{x_of(x) - 5:.1f}" '
                   f'y="{y_of(y) - 5:.1f}" width="10" height="10" fill="{color}"/>'
                   f'<text x="{x_of(x) + 8:.1f}" y="{y_of(y) + 4:.1f}" font-size="11" '
                   f'fill="{color}">{_esc(label)}</text></g>')
    out.append("</svg>")
    return "".join(out)


def _svg_open(chart_id: str, label: str) -> str:
    return (f'<svg id="{_esc(chart_id)}" role="img" '
            f'aria-label="{_esc(label)}" width="{WIDTH}" height="{HEIGHT}" '
            f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="system-ui, Arial, sans-serif">')


def _y_axis(ticks: Sequence[float], y_of: Callable[[float], float], label: str) -> list[str]:
    out = []
    for tick in ticks:
        y = y_of(tick)
        out.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
                   'stroke="#e3e7eb"/>')
        out.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" '
                   f'fill="#5c6670">{_esc(_tick_text(tick))}</text>')
    out.append(
        f'<line x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{HEIGHT - BOTTOM}" stroke="#9aa4ae"/>'
    )
    middle = TOP + (HEIGHT - TOP - BOTTOM) / 2
    out.append(f'<text transform="translate(14 {middle:.1f}) rotate(-90)" text-anchor="middle" '
               f'font-size="12" fill="#1d2329">{_esc(label)}</text>')
    return out


def legend(names: Iterable[str], colors: Iterable[str]) -> str:
    """A colour key under a chart."""
    items = "".join(
        f'<span class="key" style="background:{color}"></span>{_esc(name)}'
        for name, color in zip(names, colors, strict=False)
    )
    return f'<p class="legend">{items}</p>'
