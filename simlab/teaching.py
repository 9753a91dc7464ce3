"""Helpers for the notebooks' exercises: check an answer, without ever raising.

A notebook must run top to bottom for a student who has not answered yet, so an
unanswered exercise prints a reminder instead of failing.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["check"]


def check(
    answer: Any, expected: Any, *, explain: str = "", hint: str = "", tolerance: float = 0.0
) -> bool:
    """Print whether ``answer`` matches ``expected`` (numbers within ``tolerance``): the
    explanation when it does, only the hint when it does not."""
    if answer is None:
        print("Not answered yet: set the variable in the cell above, then run this cell again.")
        return False
    if isinstance(expected, float | int) and isinstance(answer, float | int):
        correct = math.isclose(answer, expected, rel_tol=tolerance, abs_tol=tolerance)
    elif isinstance(expected, str) and isinstance(answer, str):
        correct = answer.strip().lower() == expected.strip().lower()
    else:
        correct = answer == expected
    if correct:
        print(f"Correct. {explain}".strip())
    else:
        print(f"Not quite. {hint or 'Look again at the chart and the table.'}".strip())
    return correct
