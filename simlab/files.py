"""Where simlab writes. An output path is checked before any run starts and created only
when there is something to write, so a bad path is a one-line :class:`SimlabError` and a
failed command leaves nothing behind (not even an empty folder)."""

from __future__ import annotations

import os
from pathlib import Path

from simlab.errors import SimlabError

__all__ = ["check_output_dir", "output_dir"]


def check_output_dir(path: str | os.PathLike[str]) -> Path:
    """``path`` as a folder simlab could create or write into; raise if it cannot be."""
    folder = Path(path)
    existing = folder
    while not existing.exists():
        if existing.parent == existing:
            break
        existing = existing.parent
    if not existing.is_dir():
        what = "it" if existing == folder else str(existing)
        raise SimlabError(f"cannot write into {folder}: {what} exists and is not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise SimlabError(f"cannot write into {folder}: permission denied on {existing}")
    return folder


def output_dir(path: str | os.PathLike[str]) -> Path:
    """Create ``path`` (and its parents) if needed; return it."""
    folder = check_output_dir(path)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SimlabError(f"cannot create output folder {folder}: {exc.strerror}") from None
    return folder
