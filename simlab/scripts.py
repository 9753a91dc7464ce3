"""A teacher's scenario script, run by ``simlab run FILE.py``.

The script is read as any input is (:func:`simlab.files.read_text`: a regular file of at most
:data:`MAX_SCRIPT_BYTES`, UTF-8), compiled under its own name and run as ``__main__``, as
``python FILE.py`` would run it. A script's own failure (a syntax error, an exception it
raises, a file it cannot open) is the teacher's to fix, so it is one
:class:`~simlab.errors.ScenarioError` naming the script and the line in it, never a
traceback through simlab. What the script then does (how long it runs, how much it
allocates) is its own business, as under ``python``.

``sys.exit()`` in a script ends it as under ``python``: no value or 0 is success, a whole
number from 1 to 255 is the exit status; anything else (``sys.exit("message")``) is an
error naming the script and quoting the value.
"""

from __future__ import annotations

import sys
import types

from simlab.errors import ScenarioError, SimlabError
from simlab.files import read_text

__all__ = ["MAX_SCRIPT_BYTES", "run_script"]

MAX_SCRIPT_BYTES = 1 << 20
"""A script's size cap: the example script is 500 bytes; a teacher's is a page or two."""

_MESSAGE_WIDTH = 200  # characters of an exception's message an error line quotes


def run_script(path: str) -> int:
    """Run the script at ``path``; return the exit status it chose (0 if none)."""
    text = read_text(path, MAX_SCRIPT_BYTES, "scenario script", ScenarioError)
    try:
        code = compile(text, path, "exec", dont_inherit=True)
    except SyntaxError as exc:  # IndentationError and TabError too
        at = f"line {exc.lineno}: " if exc.lineno else ""
        raise ScenarioError(f"scenario script {path}: {at}{_first_line(exc.msg)}") from None
    except (ValueError, RecursionError, MemoryError) as exc:  # a NUL byte; absurd nesting
        raise ScenarioError(f"scenario script {path}: cannot compile: {_described(exc)}") from None
    module = types.ModuleType("__main__")
    module.__file__ = path
    main, argv0 = sys.modules.get("__main__"), sys.argv[0] if sys.argv else None
    sys.modules["__main__"] = module  # as runpy does: pickling and child processes find it
    if argv0 is not None:
        sys.argv[0] = path
    try:
        exec(code, module.__dict__)
    except SystemExit as exc:
        return _status(exc.code, path)
    except (BrokenPipeError, KeyboardInterrupt):
        raise  # stdout closed (``simlab run s.py | head``), or Ctrl-C: main stops quietly
    except BaseException as exc:  # GeneratorExit, or a script's own BaseException subclass
        line = _line_in(exc, path)
        what = _message(exc) if isinstance(exc, SimlabError) else _described(exc)
        raise ScenarioError(
            f"scenario script {path} failed: {what}" + (f" (line {line})" if line else "")
        ) from None
    finally:
        if main is not None:
            sys.modules["__main__"] = main
        if argv0 is not None:
            sys.argv[0] = argv0
    return 0


def _status(code: object, path: str) -> int:
    """The exit status of ``sys.exit(code)`` in a script (see the module's docstring)."""
    if code is None:
        return 0
    if isinstance(code, int) and 0 <= code <= 255:
        return code
    raise ScenarioError(f"scenario script {path} stopped: sys.exit({_first_line(repr(code))})")


def _line_in(exc: BaseException, path: str) -> int | None:
    """The line of the script's innermost frame in ``exc``'s traceback (read from the frames,
    not from the file: nothing is opened again)."""
    line = None
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == path:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _described(exc: BaseException) -> str:
    """``ZeroDivisionError: division by zero``, as Python's last traceback line says it."""
    message = _message(exc)
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def _message(exc: BaseException) -> str:
    try:
        text = str(exc)
    except Exception:  # a script's own exception class may fail to print
        return ""
    return _first_line(text)


def _first_line(text: str) -> str:
    """The first line of ``text``, at most :data:`_MESSAGE_WIDTH` characters: an error stays
    one line whatever a script raises."""
    lines = text.strip().splitlines()
    first = lines[0] if lines else ""
    if len(first) > _MESSAGE_WIDTH:
        return first[:_MESSAGE_WIDTH] + "..."
    return first + (" ..." if len(lines) > 1 else "")
