"""How each step of the night grows with the data: a log-log SVG, interactions against seconds, one line per step.

Written by hand as SVG (``make bench`` writes docs/scale.svg beside docs/benchmarks.md): a line plot needs no
plotting library, and the file diffs as text. A line whose slope is 1 on the plot grows linearly with the
interactions; the dashed grey guide from the lowest point has that slope.
"""

from __future__ import annotations

import math
from html import escape
from typing import Any

WIDTH, HEIGHT = 760, 460
LEFT, RIGHT, TOP, BOTTOM = 70, 250, 30, 60
#: Distinguishable line colours (Okabe-Ito, then greys), cycled.
COLOURS = ("#000000", "#E69F00", "#56B4E9", "#009E73", "#D55E00", "#0072B2", "#CC79A7", "#F0E442", "#777777",
           "#999933", "#882255")


def step_lines(results: dict[str, Any]) -> dict[str, list[tuple[float, float]]]:
    """{step: [(interactions, seconds), ...]} of the whole night and its top-level steps, over the sizes run."""
    lines: dict[str, list[tuple[float, float]]] = {}
    for size in results["sizes"].values():
        night = size["night"]
        x = float(night["data"]["n_ratings"])
        for row in night["steps"]:
            if row["depth"] > 1 or row["seconds"] <= 0:
                continue
            name = "score (all shards)" if row["step"].startswith("score shard") else row["step"]
            points = lines.setdefault(name, [])
            if points and points[-1][0] == x:  # the shards of one size add up
                points[-1] = (x, points[-1][1] + row["seconds"])
            else:
                points.append((x, row["seconds"]))
    return {name: points for name, points in lines.items() if len(points) >= 2}


def _decades(lo: float, hi: float) -> list[float]:
    return [10.0**e for e in range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1)]


def loglog_svg(lines: dict[str, list[tuple[float, float]]], title: str) -> str:
    """The SVG text of ``lines`` on log-log axes."""
    xs = [x for points in lines.values() for x, _ in points] or [1.0, 10.0]
    ys = [y for points in lines.values() for _, y in points] or [1.0, 10.0]
    x_ticks, y_ticks = _decades(min(xs), max(xs)), _decades(max(min(ys), 0.01), max(ys))
    x0, x1 = math.log10(x_ticks[0]), math.log10(x_ticks[-1])
    y0, y1 = math.log10(y_ticks[0]), math.log10(y_ticks[-1])
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def px(x: float) -> float:
        return LEFT + (math.log10(x) - x0) / max(x1 - x0, 1e-9) * plot_w

    def py(y: float) -> float:
        return TOP + plot_h - (math.log10(max(y, y_ticks[0])) - y0) / max(y1 - y0, 1e-9) * plot_h

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" font-family="sans-serif" font-size="12">',
           f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>',
           f'<text x="{LEFT}" y="18" font-size="14">{escape(title)}</text>']
    for x in x_ticks:
        out += [f'<line x1="{px(x):.1f}" y1="{TOP}" x2="{px(x):.1f}" y2="{TOP + plot_h}" stroke="#e5e5e5"/>',
                f'<text x="{px(x):.1f}" y="{TOP + plot_h + 16}" text-anchor="middle">{_label(x)}</text>']
    for y in y_ticks:
        out += [f'<line x1="{LEFT}" y1="{py(y):.1f}" x2="{LEFT + plot_w}" y2="{py(y):.1f}" stroke="#e5e5e5"/>',
                f'<text x="{LEFT - 6}" y="{py(y) + 4:.1f}" text-anchor="end">{_label(y)}</text>']
    out += [f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#333"/>',
            f'<text x="{LEFT + plot_w / 2}" y="{HEIGHT - 20}" text-anchor="middle">interactions (log)</text>',
            f'<text transform="translate(18 {TOP + plot_h / 2}) rotate(-90)" text-anchor="middle">wall seconds (log)</text>']
    for i, (name, points) in enumerate(sorted(lines.items(), key=lambda kv: -kv[1][-1][1])):
        colour = COLOURS[i % len(COLOURS)]
        path = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in points)
        width = 3 if name == "whole night" else 1.6
        out.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="{width}"/>')
        out += [f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="2.5" fill="{colour}"/>' for x, y in points]
        ly = TOP + 14 + 17 * i
        out += [f'<line x1="{LEFT + plot_w + 12}" y1="{ly - 4}" x2="{LEFT + plot_w + 32}" y2="{ly - 4}" stroke="{colour}" stroke-width="{width}"/>',
                f'<text x="{LEFT + plot_w + 38}" y="{ly}">{escape(name)}</text>']
    # The guide: a line of slope 1 from the lowest point, so a step that grows faster than the data shows it.
    gx0, gy0 = min(xs), max(min(ys), y_ticks[0])
    gx1 = min(x_ticks[-1], gx0 * y_ticks[-1] / gy0)
    guide_y = TOP + 14 + 17 * len(lines) + 6
    out += [f'<line x1="{px(gx0):.1f}" y1="{py(gy0):.1f}" x2="{px(gx1):.1f}" y2="{py(gy0 * gx1 / gx0):.1f}" '
            'stroke="#999" stroke-dasharray="4 3"/>',
            f'<line x1="{LEFT + plot_w + 12}" y1="{guide_y - 4}" x2="{LEFT + plot_w + 32}" y2="{guide_y - 4}" '
            'stroke="#999" stroke-dasharray="4 3"/>',
            f'<text x="{LEFT + plot_w + 38}" y="{guide_y}">slope 1 (linear growth)</text>', "</svg>"]
    return "\n".join(out) + "\n"


def _label(value: float) -> str:
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if value >= scale:
            return f"{value / scale:g}{suffix}"
    return f"{value:g}"
