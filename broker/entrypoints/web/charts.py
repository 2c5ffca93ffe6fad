"""Server-side SVG charts: horizontal bars, stacked bars and a heatmap.

Hand-written SVG, so the pages need no charting script and no CDN. Every label and
every attribute value is XML-escaped; colours are presentation attributes (`fill`)
and classes, never a `style` attribute or element, so a strict Content-Security-Policy
(no inline styles, no inline scripts) holds when a chart is inlined in a page. Each
chart is an accessible image: role="img", an aria-label, and <title>/<desc> elements
referenced by aria-labelledby/aria-describedby; each bar or cell has its own <title>
(its label and value), and carries data-* attributes with its numbers.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

SVG_NS = "http://www.w3.org/2000/svg"
PALETTE = ("#1d70b8", "#f47738", "#d4351c", "#00703c", "#4c2c92", "#505a5f", "#912b88", "#28a197")
BRAG_COLOURS = {"blue": "#1d70b8", "green": "#00703c", "amber": "#f47738", "red": "#d4351c"}

_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_ID = re.compile(r"[^A-Za-z0-9_-]")

WIDTH = 640
LABEL_WIDTH = 170
VALUE_WIDTH = 70
ROW = 28
BAR = 18
TOP = 16


def esc(text: object) -> str:
    """Text safe inside an element or a double- or single-quoted attribute (control characters
    that XML 1.0 cannot carry are dropped)."""
    value = _NOT_XML.sub("", str(text))
    return (
        value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        .replace('"', "&quot;").replace("'", "&apos;")
    )


def number(value: float) -> str:
    """1 for whole numbers, 1.5 otherwise (one decimal place)."""
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def _colour(colour: str) -> str:
    if not re.fullmatch(r"#[0-9a-fA-F]{3,8}", colour):
        raise ValueError(f"not a hex colour: {colour!r}")
    return colour


def _chart_id(chart_id: str) -> str:
    cleaned = _ID.sub("-", chart_id)
    if not cleaned or not cleaned[0].isalpha():
        cleaned = "c-" + cleaned
    return cleaned


def _open(chart_id: str, title: str, desc: str, height: int, kind: str) -> list[str]:
    cid = _chart_id(chart_id)
    return [
        f'<svg xmlns="{SVG_NS}" class="chart chart-{kind}" id="{cid}" viewBox="0 0 {WIDTH} {height}" '
        f'width="{WIDTH}" height="{height}" role="img" aria-label="{esc(title)}" '
        f'aria-labelledby="{cid}-title" aria-describedby="{cid}-desc" '
        f'font-family="sans-serif" font-size="13">',
        f'<title id="{cid}-title">{esc(title)}</title>',
        f'<desc id="{cid}-desc">{esc(desc)}</desc>',
    ]


def _empty(lines: list[str], y: int) -> None:
    lines.append(f'<text class="empty" x="{LABEL_WIDTH}" y="{y}" fill="#505a5f">No data for this period</text>')


def bar_chart(
    chart_id: str, title: str, desc: str, items: Sequence[tuple[str, float]], *,
    colours: Sequence[str] | None = None, unit: str = "",
) -> str:
    """One horizontal bar per (label, value), scaled to the largest value."""
    if any(v < 0 for _, v in items):
        raise ValueError("bar values must not be negative")
    height = TOP * 2 + max(len(items), 1) * ROW
    lines = _open(chart_id, title, desc, height, "bar")
    area = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    top = max((v for _, v in items), default=0)
    if not items:
        _empty(lines, TOP + ROW // 2)
    for i, (label, value) in enumerate(items):
        y = TOP + i * ROW
        width = area * value / top if top else 0.0
        colour = _colour(colours[i % len(colours)] if colours else PALETTE[0])
        shown = number(value) + (f" {unit}" if unit else "")
        lines += [
            '<g class="row">',
            f'<text class="label" x="{LABEL_WIDTH - 8}" y="{y + BAR - 4}" text-anchor="end">{esc(label)}</text>',
            f'<rect class="bar series-0" x="{LABEL_WIDTH}" y="{y}" width="{width:.2f}" height="{BAR}" '
            f'fill="{colour}" data-label="{esc(label)}" data-value="{esc(number(value))}">'
            f'<title>{esc(label)}: {esc(shown)}</title></rect>',
            f'<text class="value" x="{LABEL_WIDTH + width + 6:.2f}" y="{y + BAR - 4}">{esc(shown)}</text>',
            "</g>",
        ]
    lines.append("</svg>")
    return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class Series:
    name: str
    values: Sequence[float]
    colour: str | None = None


def stacked_bar_chart(
    chart_id: str, title: str, desc: str, categories: Sequence[str], series: Sequence[Series],
) -> str:
    """One horizontal bar per category, one segment per series, with a legend above."""
    for s in series:
        if len(s.values) != len(categories):
            raise ValueError(f"series {s.name!r} has {len(s.values)} values for {len(categories)} categories")
        if any(v < 0 for v in s.values):
            raise ValueError("bar values must not be negative")
    legend_rows = (len(series) + 3) // 4
    legend_height = legend_rows * 20 + 8
    height = TOP + legend_height + max(len(categories), 1) * ROW + TOP
    lines = _open(chart_id, title, desc, height, "stacked")
    colours = [_colour(s.colour or PALETTE[i % len(PALETTE)]) for i, s in enumerate(series)]
    lines.append('<g class="legend">')
    for i, s in enumerate(series):
        x = 8 + (i % 4) * 155
        y = TOP + (i // 4) * 20
        lines.append(
            f'<rect class="key series-{i}" x="{x}" y="{y}" width="12" height="12" fill="{colours[i]}"/>'
            f'<text x="{x + 18}" y="{y + 11}">{esc(s.name)}</text>'
        )
    lines.append("</g>")
    area = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    totals = [sum(s.values[j] for s in series) for j in range(len(categories))]
    top = max(totals, default=0)
    base = TOP + legend_height
    if not categories:
        _empty(lines, base + ROW // 2)
    for j, category in enumerate(categories):
        y = base + j * ROW
        lines.append(f'<g class="row" data-label="{esc(category)}" data-total="{esc(number(totals[j]))}">')
        lines.append(
            f'<text class="label" x="{LABEL_WIDTH - 8}" y="{y + BAR - 4}" text-anchor="end">{esc(category)}</text>'
        )
        x = float(LABEL_WIDTH)
        for i, s in enumerate(series):
            value = s.values[j]
            width = area * value / top if top else 0.0
            if value:
                lines.append(
                    f'<rect class="bar series-{i}" x="{x:.2f}" y="{y}" width="{width:.2f}" height="{BAR}" '
                    f'fill="{colours[i]}" data-label="{esc(category)}" data-series="{esc(s.name)}" '
                    f'data-value="{esc(number(value))}"><title>{esc(category)}, {esc(s.name)}: '
                    f'{esc(number(value))}</title></rect>'
                )
            x += width
        lines.append(f'<text class="value" x="{x + 6:.2f}" y="{y + BAR - 4}">{esc(number(totals[j]))}</text>')
        lines.append("</g>")
    lines.append("</svg>")
    return "\n".join(lines)


def _shade(value: float, top: float) -> str:
    """From white (0) to blue (the largest value), in proportion."""
    share = value / top if top else 0.0
    low, high = (255, 255, 255), (0x1d, 0x70, 0xb8)
    rgb = tuple(round(a + (b - a) * share) for a, b in zip(low, high, strict=True))
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def heatmap(
    chart_id: str, title: str, desc: str, rows: Sequence[str], columns: Sequence[str],
    values: Sequence[Sequence[float]],
) -> str:
    """A grid of cells shaded by value, each showing its number."""
    if len(values) != len(rows) or any(len(r) != len(columns) for r in values):
        raise ValueError("heatmap values must have one row per row label and one cell per column")
    if any(v < 0 for r in values for v in r):
        raise ValueError("heatmap values must not be negative")
    label_width = 110
    cell_w = (WIDTH - label_width - 10) / max(len(columns), 1)
    cell_h = 30
    header = 40
    height = TOP + header + max(len(rows), 1) * cell_h + TOP
    lines = _open(chart_id, title, desc, height, "heatmap")
    top = max((v for r in values for v in r), default=0)
    for k, column in enumerate(columns):
        x = label_width + k * cell_w + cell_w / 2
        lines.append(
            f'<text class="column" x="{x:.2f}" y="{TOP + header - 10}" text-anchor="middle">{esc(column)}</text>'
        )
    if not rows:
        _empty(lines, TOP + header + cell_h // 2)
    for j, row in enumerate(rows):
        y = TOP + header + j * cell_h
        lines.append(f'<g class="row" data-label="{esc(row)}">')
        lines.append(f'<text class="label" x="{label_width - 8}" y="{y + 20}" text-anchor="end">{esc(row)}</text>')
        for k, column in enumerate(columns):
            value = values[j][k]
            x = label_width + k * cell_w
            ink = "#ffffff" if top and value / top > 0.5 else "#0b0c0c"
            lines.append(
                f'<rect class="cell" x="{x:.2f}" y="{y}" width="{cell_w - 2:.2f}" height="{cell_h - 2}" '
                f'fill="{_shade(value, top)}" stroke="#b1b4b6" data-row="{esc(row)}" data-column="{esc(column)}" '
                f'data-value="{esc(number(value))}"><title>{esc(row)}, {esc(column)}: {esc(number(value))}</title></rect>'
                f'<text class="cell-value" x="{x + cell_w / 2 - 1:.2f}" y="{y + 19}" text-anchor="middle" '
                f'fill="{ink}">{esc(number(value))}</text>'
            )
        lines.append("</g>")
    lines.append("</svg>")
    return "\n".join(lines)
