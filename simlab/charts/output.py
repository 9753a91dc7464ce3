"""Writing figures: the same figure, the same bytes."""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from simlab.files import output_dir, write

__all__ = ["figure_files", "save"]


def figure_files(name: str) -> list[str]:
    """The files :func:`save` writes for figure ``name`` (a command plans them up front)."""
    return [f"{name}.png", f"{name}.svg"]


def save(fig: Figure, out: Path, name: str) -> list[Path]:
    """Write ``name``.png and ``name``.svg, each whole or not at all; return the paths."""
    out = output_dir(out)
    paths = [out / file for file in figure_files(name)]
    # A fixed salt for the SVG's element ids and no date: the same figure, the same bytes,
    # so regenerated figures show up in git only when they really changed.
    # The layout is computed once, then frozen for both files: constrained layout measures
    # every tick label again on each save, which was most of a figure's cost.
    engine = fig.get_layout_engine()
    if engine is not None:
        engine.execute(fig)
        fig.set_layout_engine("none")
    with plt.rc_context({"svg.hashsalt": name}):
        for path in paths:
            image = io.BytesIO()
            metadata = {"Date": None} if path.suffix == ".svg" else None
            fig.savefig(image, format=path.suffix[1:], dpi=130, metadata=metadata)
            write(path, image.getvalue())
    plt.close(fig)
    return paths
