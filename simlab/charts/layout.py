"""Fixed layouts: the ticks an axis shows, and the room a chart's texts take, in points.

A layout engine finds a figure's margins by measuring every artist, again on every save;
a chart whose texts are known in advance can compute them once instead. The constants are
matplotlib's defaults (rcParams), so a computed layout leaves the room the engine would.
"""

from __future__ import annotations

from matplotlib.axis import Axis
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.textpath import text_to_path
from matplotlib.ticker import FixedFormatter, FixedLocator

__all__ = [
    "EDGE",
    "HINTING",
    "LABEL_PAD",
    "LINE",
    "TICK",
    "fix_ticks",
    "points",
    "shown_ticks",
    "text_width",
    "top_edge",
    "widest_tick_label",
]

EDGE = 3.0
"""The empty border around a figure's texts (constrained layout's ``w_pad``/``h_pad``)."""
LINE = 1.2
"""A line of text takes 1.2 times its font size (matplotlib's line spacing)."""
TICK = 7.0
"""A tick's length plus the pad before its label (``xtick.major.size`` + ``.pad``)."""
LABEL_PAD = 4.0
"""Between the tick labels and the axis label (``axes.labelpad``)."""


def points(size: float | str) -> float:
    """A font size in points: ``"medium"`` (tick and axis labels) is ``font.size``."""
    return float(FontProperties(size=size).get_size_in_points())


HINTING = 1.03
"""Text drawn into pixels is hinted, which makes it up to about 3% wider than its outline
(DejaVu Sans at 10 points, 72 to 200 dpi): the room left for a text allows for that."""


def text_width(text: str, size: float | str = "medium") -> float:
    """The width in points of one line of ``text`` in the default font at ``size``, as wide
    as it may be drawn at any resolution."""
    width, _, _ = text_to_path.get_text_width_height_descent(
        text, FontProperties(size=size), ismath=False
    )
    return float(width) * HINTING


def shown_ticks(axis: Axis) -> tuple[list[float], list[str]]:
    """The major ticks ``axis`` draws (those in its view) and their labels.

    Labels are formatted on every tick the locator gives, as a draw does: a formatter's
    precision can depend on all of them."""
    locs = list(axis.get_majorticklocs())
    labels = axis.get_major_formatter().format_ticks(locs)
    low, high = sorted(axis.get_view_interval())
    slack = 1e-10 * (high - low)  # as close as matplotlib's own test for "in view"
    shown = [i for i, loc in enumerate(locs) if low - slack <= loc <= high + slack]
    return [locs[i] for i in shown], [labels[i] for i in shown]


def widest_tick_label(axis: Axis) -> float:
    """The width in points of the widest tick label ``axis`` shows (0 if none)."""
    return max((text_width(t) for t in shown_ticks(axis)[1]), default=0.0)


def top_edge(fig: Figure) -> float:
    """Where a title's top goes, in figure coordinates: :data:`EDGE` below the top."""
    return 1 - EDGE / (72.0 * fig.get_figheight())


def fix_ticks(fig: Figure) -> None:
    """Replace every axis' locator and formatter by the ticks and labels it shows now.

    Each draw asks an axis for its ticks about three times (ticks, spine, axis label), and
    each answer runs the locator and the formatter; once the layout is fixed the answer
    cannot change, so it is computed once. Ticks outside the view, never drawn, are dropped.
    """
    for ax in fig.axes:
        if not ax.axison:
            continue
        for axis in (ax.xaxis, ax.yaxis):
            locs, labels = shown_ticks(axis)
            offset = axis.get_major_formatter().get_offset()  # set while formatting
            axis.set_major_locator(FixedLocator(locs))
            fixed = FixedFormatter(labels)
            fixed.set_offset_string(offset)
            axis.set_major_formatter(fixed)
