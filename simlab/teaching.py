"""Helpers for the notebooks' exercises: check an answer, without ever raising.

A notebook must run top to bottom for a student who has not answered yet, so an
unanswered exercise prints a reminder and its hint instead of failing. Every exercise
carries a hint, so a student who is stuck has somewhere to start.

A teacher who sets the environment variable ``SIMLAB_ANSWER_KEY=1`` before starting Jupyter
sees each unanswered exercise's answer too (the test suite runs the notebooks that way, so
every answer is computed at least once).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from typing import Any

import pandas as pd

__all__ = ["Checked", "accepted_by_kind", "check"]


class Checked:
    """What :func:`check` found: true when the answer is right. It shows nothing as a cell's
    last value: check() has printed its verdict already, and Jupyter would otherwise print a
    bare ``False`` under every unanswered exercise, which reads as "wrong"."""

    __slots__ = ("correct",)

    def __init__(self, correct: object) -> None:
        self.correct = bool(correct)  # numpy's comparisons give numpy.bool

    def __bool__(self) -> bool:
        return self.correct

    def __eq__(self, other: object) -> bool:
        """Equal to True or False as its verdict is (check() used to return a plain bool);
        unlike a bool, never equal to the numbers 1 or 0."""
        if isinstance(other, Checked):
            return self.correct == other.correct
        return self.correct == other if isinstance(other, bool) else NotImplemented

    def __hash__(self) -> int:
        return hash(self.correct)

    def __repr__(self) -> str:
        return f"Checked({self.correct})"

    def _ipython_display_(self) -> None:
        """Nothing to display (IPython's display hook)."""


def check(
    answer: Any,
    expected: Any | Callable[[], Any],
    *,
    hint: str,
    explain: str = "",
    tolerance: float = 0.0,
) -> Checked:
    """Print whether ``answer`` matches ``expected`` (numbers within ``tolerance``, relative
    or absolute): the explanation when it does, the hint when it does not or is missing.

    ``expected`` may be a function of no arguments, called only once an answer is given, so
    an exercise can compute its answer from fresh runs (the numbers follow the model) without
    slowing a notebook whose exercises are not answered yet.
    """
    if not hint.strip():
        raise ValueError("every exercise needs a hint")
    if answer is None:
        print("Not answered yet: set the variable in the cell above, then run this cell again.")
        print(f"  Hint: {hint.strip()}")
        if os.environ.get("SIMLAB_ANSWER_KEY"):
            print(f"  Answer key: {_value(expected)!r}")
        return Checked(False)
    expected, answer = _value(expected), _plain(answer)
    if isinstance(expected, bool) or isinstance(answer, bool):  # True is not 1 here
        correct = type(answer) is type(expected) and answer == expected
    elif isinstance(expected, float | int) and isinstance(answer, float | int):
        correct = math.isclose(answer, expected, rel_tol=tolerance, abs_tol=tolerance)
    elif isinstance(expected, str) and isinstance(answer, str):
        correct = answer.strip().lower() == expected.strip().lower()
    else:
        try:  # an array or a table compares element-wise: not one answer
            correct = bool(answer == expected)
        except (TypeError, ValueError):
            correct = False
    if correct:
        print(f"Correct. {explain}".strip())
    else:
        print(f"Not quite. Hint: {hint.strip()}")
    return Checked(correct)


def _value(expected: Any) -> Any:
    """The expected answer as a plain Python value (computed, if it is a function)."""
    return _plain(expected() if callable(expected) else expected)


def _plain(value: Any) -> Any:
    """A numpy or pandas scalar (or one-element array) as the Python value it holds: pandas
    gives ``numpy.bool_`` for ``.any()``, which a student rightly takes for True or False."""
    if hasattr(value, "item") and getattr(value, "size", 1) == 1:
        return value.item()
    return value


def accepted_by_kind(result: Any, by: str = "kind") -> pd.DataFrame:
    """For one run (a :class:`simlab.runner.Result`): per kind of client (or per ``by``
    column, e.g. ``"release"``), how many of the attacker's connections there were, how many
    the client accepted (with or without clicking through a warning), and that share as a
    percentage."""
    table = result.table
    attacker = table[table["responder"] == "attacker"]
    accepted = attacker["outcome"].isin(["intercepted", "clicked_through"])
    counts = pd.DataFrame(
        {
            "attacker connections": attacker.groupby(by).size(),
            "accepted": accepted.groupby(attacker[by]).sum().astype(int),
        }
    )
    counts["share accepted"] = (counts["accepted"] / counts["attacker connections"]).map(
        "{:.0%}".format
    )
    counts.index.name = "kind of client" if by == "kind" else by
    return counts
