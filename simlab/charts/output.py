"""Writing figures: the same figure, the same bytes, drawn as few times as possible."""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from simlab.charts.layout import fix_ticks
from simlab.files import write_all

__all__ = ["figure_files", "render", "save", "write"]

_SUFFIXES = (".png", ".svg")


def figure_files(name: str) -> list[str]:
    """The files :func:`render` makes for figure ``name`` (a command plans them up front)."""
    return [name + suffix for suffix in _SUFFIXES]


def _freeze(fig: Figure) -> None:
    """Fix the layout and every axis' ticks, so each file draws the figure once and no more.

    A layout engine would lay the figure out again on each save, measuring every tick label,
    and ``savefig`` would draw it once more before the real draw. The drawing is unchanged.
    """
    engine = fig.get_layout_engine()
    if engine is not None:
        engine.execute(fig)
        fig.set_layout_engine(None)  # not "none": that one still draws before each save
    fix_ticks(fig)


def render(fig: Figure, name: str) -> dict[str, bytes]:
    """``{"name.png": ..., "name.svg": ...}``: the figure drawn once per file, then closed.

    Drawing and writing are apart so that worker processes can draw while the one process
    that writes the files waits until every run has succeeded."""
    _freeze(fig)
    files = {}
    # A fixed salt for the SVG's element ids and no date: the same figure, the same bytes,
    # so regenerated figures show up in git only when they really changed.
    with plt.rc_context({"svg.hashsalt": name}):
        for file in figure_files(name):
            data = io.BytesIO()
            svg = file.endswith(".svg")
            fig.savefig(
                data,
                format="svg" if svg else "png",
                dpi=130,
                metadata={"Date": None} if svg else None,
            )
            files[file] = data.getvalue()
    plt.close(fig)
    return files


def write(files: Mapping[str, bytes], out: Path, *, replace: bool = True) -> list[Path]:
    """Write each ``{file name: bytes}`` into the folder ``out``, each whole and all or
    none, replacing a file already there only if ``replace``
    (:func:`simlab.files.write_all`); return the paths."""
    return write_all({out / name: data for name, data in files.items()}, replace=replace)


def save(fig: Figure, out: Path, name: str) -> list[Path]:
    """Write ``name``.png and ``name``.svg; return the paths."""
    return write(render(fig, name), out)
