"""Plots as hand-written SVG, drawn on the server: no JavaScript, no CDN, so a page or a report works offline.

``line_plot`` draws one line per series over a shared categorical x-axis (the runs, oldest first), with an
optional threshold line and marked points (breaches); ``bar_plot`` draws grouped or stacked bars.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape

#: Series colours (colour-blind safe, Okabe-Ito), in order.
PALETTE = ("#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#f0e442", "#000000")
BREACH = "#d62728"
WIDTH, HEIGHT = 460, 220
LEFT, RIGHT, TOP, BOTTOM = 52, 14, 26, 46


def _fmt(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def _ticks(lo: float, hi: float, n: int = 4) -> list[float]:
    if hi <= lo:
        hi = lo + (abs(lo) or 1.0)
    step = 10 ** math.floor(math.log10((hi - lo) / n))
    for mult in (1, 2, 2.5, 5, 10):
        if (hi - lo) / (step * mult) <= n:
            step *= mult
            break
    first = math.floor(lo / step) * step
    return [first + i * step for i in range(int(math.ceil((hi - first) / step)) + 1)]


class _Frame:
    """The axes of one plot: value-to-pixel mapping, gridlines and labels."""

    def __init__(self, labels: Sequence[str], values: Sequence[float], zero: bool):
        self.labels = list(labels)
        lo, hi = (min(values), max(values)) if values else (0.0, 1.0)
        if zero:
            lo = min(lo, 0.0)
        self.yticks = _ticks(lo, hi)
        self.lo, self.hi = self.yticks[0], self.yticks[-1]
        self.plot_w, self.plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(self, i: int, slots: bool = False) -> float:
        n = len(self.labels)
        if slots or n == 1:
            return LEFT + self.plot_w * (i + 0.5) / max(n, 1)
        return LEFT + self.plot_w * i / (n - 1)

    def y(self, value: float) -> float:
        return TOP + self.plot_h * (1 - (value - self.lo) / ((self.hi - self.lo) or 1.0))

    def axes(self, title: str, slots: bool = False) -> list[str]:
        out = [f'<text class="title" x="{LEFT}" y="16">{escape(title)}</text>']
        for tick in self.yticks:
            y = self.y(tick)
            out.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>')
            out.append(f'<text class="tick" x="{LEFT - 4}" y="{y + 3:.1f}" text-anchor="end">{_fmt(tick)}</text>')
        every = max(1, math.ceil(len(self.labels) / 8))
        for i, label in enumerate(self.labels):
            if i % every == 0 or i == len(self.labels) - 1:
                x = self.x(i, slots)
                anchor = "end" if not slots and i == len(self.labels) - 1 and i > 0 else (
                    "start" if not slots and i == 0 and len(self.labels) > 1 else "middle")
                out.append(f'<text class="tick" x="{x:.1f}" y="{HEIGHT - BOTTOM + 14}" text-anchor="{anchor}">'
                           f'{escape(label[:10])}</text>')
        out.append(f'<line class="axis" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{TOP + self.plot_h}" '
                   f'y2="{TOP + self.plot_h}"/>')
        return out


def _legend(names: Sequence[str]) -> tuple[list[str], int]:
    """The legend's marks, wrapped into rows below the plot, and the height they add."""
    out, x, y = [], LEFT, HEIGHT - 16
    for i, name in enumerate(names):
        width = 24 + 6 * len(name)
        if x + width > WIDTH and x > LEFT:
            x, y = LEFT, y + 15
        colour = PALETTE[i % len(PALETTE)]
        out.append(f'<rect x="{x}" y="{y}" width="10" height="10" fill="{colour}"/>')
        out.append(f'<text class="legend" x="{x + 14}" y="{y + 9}">{escape(name)}</text>')
        x += width
    return out, y - (HEIGHT - 16)


def _svg(body: list[str], label: str, names: Sequence[str]) -> str:
    legend, extra = _legend(names)
    height = HEIGHT + extra
    return (f'<svg class="plot" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" '
            f'height="{height}" role="img" aria-label="{escape(label)}">' + "".join(body + legend) + "</svg>")


def line_plot(title: str, labels: Sequence[str], series: Mapping[str, Sequence[float | None]],
              threshold: float | None = None, marked: Mapping[str, Sequence[bool]] | None = None) -> str:
    """One polyline per series (``None`` = no point for that run); a dashed ``threshold``; ``marked`` points
    (e.g. breaches) drawn as red rings."""
    values = [v for vs in series.values() for v in vs if v is not None]
    if threshold is not None:
        values.append(threshold)
    frame = _Frame(labels, values, zero=False)
    body = frame.axes(title)
    if threshold is not None:
        y = frame.y(threshold)
        body.append(f'<line class="threshold" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>')
        body.append(f'<text class="tick" x="{WIDTH - RIGHT}" y="{y - 3:.1f}" text-anchor="end">'
                    f'threshold {_fmt(threshold)}</text>')
    for i, (name, vs) in enumerate(series.items()):
        colour = PALETTE[i % len(PALETTE)]
        points = [(frame.x(j), frame.y(v)) for j, v in enumerate(vs) if v is not None]
        if len(points) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
            body.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{path}"/>')
        for j, v in enumerate(vs):
            if v is None:
                continue
            hit = bool(marked and name in marked and marked[name][j])
            body.append(f'<circle cx="{frame.x(j):.1f}" cy="{frame.y(v):.1f}" r="{5 if hit else 3}" '
                        f'fill="{BREACH if hit else colour}"><title>{escape(name)} {escape(labels[j])}: '
                        f'{_fmt(v)}{" (breach)" if hit else ""}</title></circle>')
    return _svg(body, title, list(series))


def bar_plot(title: str, labels: Sequence[str], series: Mapping[str, Sequence[float]], stacked: bool = True) -> str:
    """Bars per label, one segment (``stacked``) or one bar side by side per series."""
    names = list(series)
    totals = [sum(series[n][i] or 0 for n in names) if stacked else max((series[n][i] or 0) for n in names)
              for i in range(len(labels))]
    frame = _Frame(labels, totals or [0.0], zero=True)
    body = frame.axes(title, slots=True)
    slot = frame.plot_w / max(len(labels), 1)
    width = slot * 0.7 / (1 if stacked else max(len(names), 1))
    for i in range(len(labels)):
        base = 0.0
        for k, name in enumerate(names):
            value = float(series[name][i] or 0)
            lo, hi = (base, base + value) if stacked else (0.0, value)
            x = frame.x(i, slots=True) - slot * 0.35 + (0 if stacked else k * width)
            y_top, y_bottom = frame.y(hi), frame.y(lo)
            body.append(f'<path d="M{x:.1f},{y_bottom:.1f}V{y_top:.1f}H{x + width:.1f}V{y_bottom:.1f}Z" '
                        f'fill="{PALETTE[k % len(PALETTE)]}"><title>{escape(name)} {escape(labels[i])}: '
                        f'{_fmt(value)}</title></path>')
            if stacked:
                base = hi
    return _svg(body, title, names)


#: The CSS every page and report carries inline.
STYLE = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:16px 24px;color:#1a202c;background:#fff}
h1{font-size:1.4em;margin:0 0 4px} h2{font-size:1.1em;margin:24px 0 6px;border-bottom:1px solid #e2e8f0}
table{border-collapse:collapse;font-size:12px;margin:6px 0} td,th{border:1px solid #e2e8f0;padding:3px 6px;
text-align:left;vertical-align:top} th{background:#f7fafc} tr.breach td{background:#fde8e8}
.plots{display:flex;flex-wrap:wrap;gap:12px} svg.plot{border:1px solid #e2e8f0;background:#fff}
svg .title{font-size:13px;font-weight:600} svg .tick{font-size:10px;fill:#4a5568} svg .legend{font-size:11px}
svg .grid{stroke:#edf2f7} svg .axis{stroke:#a0aec0} svg .threshold{stroke:#d62728;stroke-dasharray:5 4}
.muted{color:#718096} .bad{color:#d62728;font-weight:600} form{margin:8px 0} nav a{margin-right:8px}
"""
