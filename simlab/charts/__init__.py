"""Charts for teaching. They read only results tables (and, for the two graphs, a world).

Every take-away in a title is computed from the data drawn, by the pure functions of
:mod:`simlab.charts.claims`, under one stated rule for ties and noise. Dark is better on
every heatmap (``cividis``, colour-blind safe); categories use the Okabe-Ito colours; cell
text is black or white by the WCAG contrast rule (:mod:`simlab.charts.style`).

``from simlab import charts; charts.heatmap(metrics, "interception_rate")`` and
``charts.save(fig, out, name)`` are the whole workflow (``render`` and ``write`` are its two
halves, for drawing in one process and writing in another).
"""

from __future__ import annotations

from simlab.charts import claims
from simlab.charts.bars import web_bars
from simlab.charts.graphs import network_graph, trust_graph
from simlab.charts.heatmaps import heatmap
from simlab.charts.output import figure_files, render, save, write
from simlab.charts.style import LABELS, METRIC_STYLES, OKABE_ITO, SCALE
from simlab.charts.sweeps import parameter_chart
from simlab.charts.timelines import ct_timeline, timeline

__all__ = [
    "LABELS",
    "METRIC_STYLES",
    "OKABE_ITO",
    "SCALE",
    "claims",
    "ct_timeline",
    "figure_files",
    "heatmap",
    "network_graph",
    "parameter_chart",
    "render",
    "save",
    "timeline",
    "trust_graph",
    "web_bars",
    "write",
]
