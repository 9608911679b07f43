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


HBAR_MAX_WIDTH = 420  # px of the viewBox: a phone (~360 px of content) shows it at 0.87 size
GLYPH = 0.6  # average glyph width in em, to size text without a font engine


def _text_px(text: str, size: int) -> float:
    return len(text) * size * GLYPH


def hbar_chart(bars: Sequence[Bar], *, title: str, max_value: float | None = None,
               width: int = HBAR_MAX_WIDTH, label_width: int = 0, text_room: int = 0,
               fmt: Callable[[float], str] = _fmt) -> Markup:
    """One horizontal bar per item: its label on a line of its own, the bar under it and the
    value at the bar's end (or, when the value text is long, on a line under the label).

    Drawn at most HBAR_MAX_WIDTH wide whatever `width` asks: the SVG scales to the screen
    (viewBox), and a wide chart scaled down to a phone has unreadable text. `label_width` and
    `text_room` are kept for callers of the side-by-side layout; the stacked one needs neither."""
    del label_width, text_room
    width = min(width, HBAR_MAX_WIDTH)
    size, small, bar_h = 13, 12, 12
    texts = [b.text or fmt(b.value) for b in bars]
    room = max((_text_px(t, small) for t in texts), default=0.0) + 8
    own_line = room > width * 0.35  # long value texts get their own line
    bar_room = width - 4 - (0 if own_line else room)
    row = size + 6 + (small + 4 if own_line else 0) + bar_h + 8
    top_value = max_value if max_value is not None else max((b.value for b in bars), default=0)
    scale = bar_room / top_value if top_value > 0 else 0.0
    body = []
    for i, (b, text) in enumerate(zip(bars, texts, strict=True)):
        y = 4 + i * row + size
        body.append(f'<text x="2" y="{y}" font-size="{size}">{escape(b.label)}</text>')
        if own_line:
            y += small + 4
            body.append(f'<text x="2" y="{y}" font-size="{small}" fill="#333">'
                        f'{escape(text)}</text>')
        w = max(b.value * scale, 0.0)
        body.append(f'<rect x="2" y="{y + 5}" width="{w:.1f}" height="{bar_h}" '
                    f'fill="{escape(b.colour)}"/>')
        if not own_line:
            body.append(f'<text x="{w + 7:.1f}" y="{y + 5 + bar_h - 1}" font-size="{small}">'
                        f'{escape(text)}</text>')
    return _svg(width, 4 + row * max(len(bars), 1), title, body)


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
            f'<text x="{cx:.1f}" y="{height - bottom + 15}" text-anchor="middle" '
            f'font-size="11">{escape(b.label)}</text>')
    return _svg(width, height, title, body)


def histogram(values: Iterable[float], bins: int = 10) -> list[int]:
    """Counts of values in [0, 1] per equal-width bin; 1.0 falls in the last bin."""
    counts = [0] * bins
    for v in values:
        counts[min(max(int(round(v * bins, 9)), 0), bins - 1)] += 1  # round: 0.3*10 is 2.99..
    return counts


def bin_labels(bins: int = 10, fmt: Callable[[float], str] = lambda v: f"{v:.1f}") -> list[str]:
    return [fmt(i / bins) for i in range(bins)]
