"""Writing figures: the same figure, the same bytes."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from simlab.files import output_dir

__all__ = ["save"]


def save(fig: Figure, out: Path, name: str) -> list[Path]:
    """Write ``name``.png and ``name``.svg; return the paths."""
    out = output_dir(out)
    paths = [out / f"{name}.png", out / f"{name}.svg"]
    # A fixed salt for the SVG's element ids and no date: the same figure, the same bytes,
    # so regenerated figures show up in git only when they really changed.
    # The layout is computed once, then frozen for both files: constrained layout measures
    # every tick label again on each save, which was most of a figure's cost.
    engine = fig.get_layout_engine()
    if engine is not None:
        engine.execute(fig)
        fig.set_layout_engine(None)
    with plt.rc_context({"svg.hashsalt": name}):
        for path in paths:
            fig.savefig(path, dpi=130, metadata={"Date": None} if path.suffix == ".svg" else None)
    plt.close(fig)
    return paths
