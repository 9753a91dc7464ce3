"""Each notebook's source is a jupytext percent file ``notebooks/NN-name.py`` paired with its
``.ipynb``; the pairs are in sync, and each notebook runs top to bottom cleanly, with a hint
and a computed answer for every exercise."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest

from simlab.teaching import check

NOTEBOOKS = Path(__file__).parents[1] / "notebooks"
SOURCES = sorted(NOTEBOOKS.glob("[0-9][0-9]-*.py"))


def _notebook_modules() -> tuple[Any, Any, Any]:
    os.environ.setdefault("JUPYTER_PLATFORM_DIRS", "1")  # jupyter_core's path-migration warning
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")  # the kernel's debugger notice
    reason = "the notebooks extra is not installed (pip install -e '.[notebooks]')"
    return (
        pytest.importorskip("nbformat", reason=reason),
        pytest.importorskip("nbclient", reason=reason),
        pytest.importorskip("jupytext", reason=reason),
    )


def test_every_notebook_has_a_source_and_every_source_a_notebook() -> None:
    assert len(SOURCES) >= 8
    assert sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb")) == [p.stem for p in SOURCES]
    assert not (NOTEBOOKS / "build.py").exists()


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_each_pair_is_in_sync_and_committed_without_outputs(source: Path) -> None:
    _, _, jupytext = _notebook_modules()
    from jupytext.compare import NotebookDifference, compare_notebooks

    paired = jupytext.read(source.with_suffix(".ipynb"))
    try:
        compare_notebooks(paired, jupytext.read(source), fmt="py:percent")
    except NotebookDifference as exc:
        pytest.fail(f"{source.name} and its .ipynb differ; run `make notebooks`:\n{exc}")
    for cell in paired.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{source.stem}.ipynb has outputs: run `make notebooks`"


@pytest.mark.timeout(300)
@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_notebook_runs_top_to_bottom_with_a_hint_and_an_answer_for_each_exercise(
    source: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    nbformat, nbclient, _ = _notebook_modules()
    monkeypatch.setenv("SIMLAB_ANSWER_KEY", "1")  # the kernel inherits it: answers are computed
    nb = nbformat.read(source.with_suffix(".ipynb"), as_version=4)
    client = nbclient.NotebookClient(
        nb, timeout=240, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}
    )
    client.execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    stderr = [o.text for o in outputs if o.output_type == "stream" and o.name == "stderr"]
    assert stderr == [], stderr
    assert [o for o in outputs if "image/png" in o.get("data", {})], f"{source.stem}: no chart"
    printed = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    exercises = len(re.findall(r"^check\(", code, flags=re.MULTILINE))
    assert exercises >= 2, f"{source.stem} has {exercises} exercise(s)"
    assert printed.count("Not answered yet") == exercises  # every check ran, none raised
    assert printed.count("  Hint: ") == exercises
    answers = re.findall(r"  Answer key: (.*)", printed)
    assert len(answers) == exercises
    # A sentinel like '(nobody in this run)' means the question has no answer in this model.
    assert not [a for a in answers if a.startswith("'(")], answers
    shown = "".join(str(o.get("data", {}).get("text/plain", "")) for o in outputs if "data" in o)
    results = [o["data"].get("text/plain") for o in outputs if o.output_type == "execute_result"]
    assert "False" not in results and "True" not in results, "a bare verdict is shown"
    assert not re.search(r"\d{6,}\.\d", shown), "a table shows raw seconds"


def test_check_accepts_right_answers_and_gives_the_hint_otherwise(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SIMLAB_ANSWER_KEY", raising=False)
    assert check(9.6, 10, hint="h", tolerance=0.1) and check("Static ", "static", hint="h")
    assert not check(1, True, hint="think of keys")  # True is not the number 1, nor 1 True
    assert not check(True, 1, hint="think of keys")
    assert "Not quite. Hint: think of keys" in capsys.readouterr().out
    calls: list[int] = []

    def expensive() -> int:
        calls.append(1)
        return 3

    assert not check(None, expensive, hint="count the levels")
    assert calls == []  # not computed for a student who has not answered
    out = capsys.readouterr().out
    assert "Not answered yet" in out and "Hint: count the levels" in out
    assert "Answer key" not in out
    assert check(3, expensive, hint="h") and calls == [1]
    monkeypatch.setenv("SIMLAB_ANSWER_KEY", "1")
    check(None, expensive, hint="h")
    assert "Answer key: 3" in capsys.readouterr().out
    with pytest.raises(ValueError, match="needs a hint"):
        check(1, 1, hint=" ")


def test_a_checked_answer_is_a_true_or_false_verdict_whatever_the_answers_type() -> None:
    import numpy as np

    right = check(np.int64(3), 3, hint="h")  # numpy's == gives numpy.bool
    assert bool(right) is True and right == True  # noqa: E712 (check() returned a bool)
    assert check(2, 3, hint="h") == False  # noqa: E712
    assert repr(right) == "Checked(True)"
    # pandas' .any() gives numpy.bool_: a right True/False answer of that type is right.
    assert check(np.False_, False, hint="h") and check(np.bool_(True), lambda: True, hint="h")
    assert not check(np.True_, False, hint="h")
    # An array or a table is not one answer: wrong, never an exception in a notebook cell.
    assert not check(np.array([1, 2]), [1, 2], hint="h")
    assert not check([1, 2], lambda: np.array([1, 2]), hint="h")
