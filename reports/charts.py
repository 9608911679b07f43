"""Charts as inline SVG: the report must open offline, with no script and no external asset.

Each function returns ``markupsafe.Markup`` ready to drop into a template. Every label is
escaped here (labels can hold portal-derived text), so the Markup is safe to emit as is.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

FONT = 'font-family="Noto Sans, Segoe UI, Arial, sans-serif"'
GROUP_COLOURS = {"very_high": "#1a7f37", "high": "#7cc47f", "middle": "#f0b429", "low": "#d64545"}
DEFAULT_COLOUR = "#3b6fb6"


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    colour: str = DEFAULT_COLOUR
    text: str = ""  # shown at the end of the bar; defaults to the formatted value


def _fmt(value: float) -> str:
    return f"{value:g}"


def _svg(width: int, height: int, title: str, body: Iterable[str]) -> Markup:
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
            f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" {FONT} '
            f'font-size="12"><title>{escape(title)}</title>')
    return Markup(head + "".join(body) + "</svg>")


def hbar_chart(bars: Sequence[Bar], *, title: str, max_value: float | None = None,
               width: int = 720, label_width: int = 300, text_room: int = 70,
               fmt: Callable[[float], str] = _fmt) -> Markup:
    """One horizontal bar per item, label on the left, value at the end of the bar."""
    row, top = 20, 6
    height = top * 2 + row * max(len(bars), 1)
    top_value = max_value if max_value is not None else max((b.value for b in bars), default=0)
    scale = (width - label_width - text_room) / top_value if top_value > 0 else 0.0
    body = []
    for i, b in enumerate(bars):
        y = top + i * row
        w = max(b.value * scale, 0.0)
        body.append(
            f'<text x="{label_width - 6}" y="{y + 14}" text-anchor="end">{escape(b.label)}</text>'
            f'<rect x="{label_width}" y="{y + 3}" width="{w:.1f}" height="{row - 6}" '
            f'fill="{escape(b.colour)}"/>'
            f'<text x="{label_width + w + 4:.1f}" y="{y + 14}">{escape(b.text or fmt(b.value))}'
            f'</text>')
    return _svg(width, height, title, body)


def column_chart(bars: Sequence[Bar], *, title: str, width: int = 360, height: int = 200,
                 fmt: Callable[[float], str] = _fmt) -> Markup:
    """Vertical columns with the label under each column and the value above it."""
    bottom, top = 36, 18
    n = max(len(bars), 1)
    slot = (width - 10) / n
    top_value = max((b.value for b in bars), default=0)
    scale = (height - bottom - top) / top_value if top_value > 0 else 0.0
    body = [f'<line x1="5" y1="{height - bottom}" x2="{width - 5}" y2="{height - bottom}" '
            f'stroke="#999"/>']
    for i, b in enumerate(bars):
        h = b.value * scale
        x = 5 + i * slot
        y = height - bottom - h
        cx = x + slot / 2
        body.append(
            f'<rect x="{x + slot * 0.15:.1f}" y="{y:.1f}" width="{slot * 0.7:.1f}" '
            f'height="{h:.1f}" fill="{escape(b.colour)}"/>'
            f'<text x="{cx:.1f}" y="{y - 4:.1f}" text-anchor="middle">'
            f'{escape(b.text or fmt(b.value))}</text>'
            f'<text x="{cx:.1f}" y="{height - bottom + 14}" text-anchor="middle" '
            f'font-size="10">{escape(b.label)}</text>')
    return _svg(width, height, title, body)


def histogram(values: Iterable[float], bins: int = 10) -> list[int]:
    """Counts of values in [0, 1] per equal-width bin; 1.0 falls in the last bin."""
    counts = [0] * bins
    for v in values:
        counts[min(max(int(round(v * bins, 9)), 0), bins - 1)] += 1  # round: 0.3*10 is 2.99..
    return counts


def bin_labels(bins: int = 10, fmt: Callable[[float], str] = lambda v: f"{v:.1f}") -> list[str]:
    return [fmt(i / bins) for i in range(bins)]
