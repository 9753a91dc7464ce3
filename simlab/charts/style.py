"""What every chart shares: each metric's label, unit, direction and resolution; the palettes;
and the WCAG contrast rule that picks black or white text for a cell.

All six charted metrics are *lower is better*, and every chart draws "better" at the dark end
of ``cividis`` (a higher-is-better metric would get the reversed map), so a dark cell means the
same thing on every heatmap.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from matplotlib.colors import to_rgb

__all__ = [
    "CATEGORY_COLOURS",
    "LABELS",
    "METRIC_STYLES",
    "MISSING_COLOUR",
    "OKABE_ITO",
    "SCALE",
    "MetricStyle",
    "contrast_ratio",
    "format_value",
    "relative_luminance",
    "text_colour",
]


@dataclass(frozen=True)
class MetricStyle:
    """How one metric is drawn and judged.

    ``resolution`` is the smallest difference (in display units) a title may call a win: a
    difference under it is a tie even with no seed spread, so one seed cannot crown a winner
    by 0.1 h. ``needs_attacker`` metrics are n/a in a scenario with no attacker (key-loss).
    """

    label: str
    unit: str
    scale: float
    resolution: float
    best: str
    worst: str
    needs_attacker: bool = False
    lower_is_better: bool = True


METRIC_STYLES: dict[str, MetricStyle] = {
    "interception_rate": MetricStyle(
        "share of the attacker's connections that clients accepted",
        "%",
        1.0,
        0.01,
        "lets the attacker in least",
        "lets the attacker in most",
        needs_attacker=True,
    ),
    "legit_failure_rate": MetricStyle(
        "share of connections to the real site that failed",
        "%",
        1.0,
        0.001,
        "has the fewest failed connections to the real site",
        "has the most failed connections to the real site",
    ),
    "detection_time": MetricStyle(
        "hours from attack start to first detection",
        "h",
        3600.0,
        1.0,
        "tells the owner soonest",
        "tells the owner last",
    ),
    "exposure_window": MetricStyle(
        "days from attack start to the last interception",
        "d",
        86400.0,
        0.1,
        "closes the attacker's window soonest",
        "leaves the attacker's window open longest",
        needs_attacker=True,
    ),
    "lockout_duration": MetricStyle(
        "longest lock-out, first to last failure (days)",
        "d",
        86400.0,
        1.0,
        "locks its own users out least",
        "locks its own users out longest",
    ),
    "clients_affected": MetricStyle(
        "clients intercepted or locked out",
        "",
        1.0,
        1.0,
        "affects fewest clients",
        "affects most clients",
    ),
}
"""Every charted metric of :data:`simlab.runner.METRICS` (``detected_by`` is a name, not drawn)."""

SCALE = {m: s.scale for m, s in METRIC_STYLES.items() if s.scale != 1.0}
"""Seconds per display unit, for the metrics stored in seconds (kept for callers of 0.x)."""

LABELS = {m: (s.label, "") for m, s in METRIC_STYLES.items()}

OKABE_ITO = {
    "connected": "#009E73",
    "intercepted": "#D55E00",
    "clicked_through": "#E69F00",
    "blocked": "#0072B2",
}
"""Outcome colours from the Okabe-Ito colour-blind-safe palette (https://jfly.uni-koeln.de/color/)."""

CATEGORY_COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
MISSING_COLOUR = "#E8E8E8"
"""Cells with no number (n/a, never): a light grey that black text reads on at about 16:1."""


def format_value(metric: str, value: float) -> str:
    """A display-unit value as a cell shows it: rates in %, times with their unit, counts whole."""
    unit = METRIC_STYLES[metric].unit
    if unit == "%":
        digits = 0 if metric == "interception_rate" else 1
        return f"{value:.{digits}%}"
    if unit == "h":
        return f"{value:.1f} h" if value < 10 else f"{value:.0f} h"
    if unit == "d":
        return f"{value:.1f} d"
    return f"{value:.0f}"


def relative_luminance(colour: str | Sequence[float]) -> float:
    """WCAG 2.2 relative luminance of an sRGB colour (https://www.w3.org/TR/WCAG22/#dfn-relative-luminance)."""

    def linear(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in to_rgb(colour))  # type: ignore[arg-type]
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(a: str | Sequence[float], b: str | Sequence[float]) -> float:
    """WCAG 2.2 contrast ratio, 1 to 21 (https://www.w3.org/TR/WCAG22/#dfn-contrast-ratio).
    Success criterion 1.4.3 (AA) asks at least 4.5:1 for normal text."""
    hi, lo = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def text_colour(background: str | Sequence[float]) -> str:
    """Black or white, whichever contrasts more with ``background``. The better of the two is
    never below sqrt(21) ~ 4.58:1 against any colour, so this always meets WCAG AA's 4.5:1."""
    black = contrast_ratio("#000000", background)
    white = contrast_ratio("#FFFFFF", background)
    return "#000000" if black >= white else "#FFFFFF"
