"""The one exception family simlab raises on bad input.

Every error a user can provoke (a bad host name, a malformed header, a broken scenario
file, an unknown CLI argument) is a :class:`SimlabError` whose message names the bad value,
so the CLI can print it on one line and exit non-zero without a traceback.
"""

from __future__ import annotations

import math
import reprlib


class SimlabError(Exception):
    """Base class of every error simlab raises on purpose."""


class PKIError(SimlabError):
    """A certificate operation was refused: bad name, bad window, unusable CA, bad PEM."""


class ValidationRefused(PKIError):
    """Domain validation failed: the requester does not control a name it asked for."""


class ScenarioError(SimlabError):
    """A scenario, defence, parameter or scenario file is invalid."""


class CTError(SimlabError, ValueError):
    """Certificate Transparency data is malformed or out of range: an SCT list, a tree head,
    a log entry or a Merkle tree size. The message names the field and, in a binary
    structure, its byte offset. Also a ValueError, which the CT decoders raised before."""


def printable(text: str, *, lines: bool = False) -> str:
    """``text`` as a terminal should print it: every character Python's ``repr`` would
    escape (controls, bidi overrides, other formatting) escaped as ``repr`` does it, so a
    scenario file's title cannot move the cursor, recolour the terminal or reorder what
    follows. With ``lines``, newlines are kept (a description's paragraphs)."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() or (lines and c == "\n") else repr(c)[1:-1] for c in text)


def shown(value: object, width: int = 40) -> str:
    """``value`` as an error message quotes it: short, and cheap whatever its size.

    A message must name the bad value, but a user can pass anything: a string of a
    megabyte is cut to ``width`` characters, and an integer of thousands of digits is
    described by its length (``repr`` of one costs time quadratic in its digits, and Python
    refuses it past 4300 digits)."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        try:
            return reprlib.repr(value)
        except ValueError:  # an integer too long to print, inside a container
            return f"a {type(value).__name__}"
    if isinstance(value, str):
        if len(value) <= width:
            return repr(value)
        return f"{value[:width]!r}... ({len(value):,} characters)"
    if value.bit_length() <= 64:
        return repr(value)
    return f"an integer of about {int(value.bit_length() * math.log10(2)) + 1:,} digits"


class OutputError(SimlabError):
    """An output cannot be written: the folder is not one, permission is denied, or a file
    there would be replaced without ``--force``."""
