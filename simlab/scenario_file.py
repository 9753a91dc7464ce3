"""Scenario files: a small, validated TOML format for teachers' own scenarios.

A file names one of the built-in stories and overrides its parameters::

    [scenario]
    name = "cafe-wifi"                    # letters, digits and hyphens
    story = "mitm"                        # one of simlab's stories
    title = "A hostile café Wi-Fi"
    description = "..."                   # optional
    sources = ["https://..."]             # optional: where the dates and counts come from

    [params]                              # optional: any World setting, with its type
    click_through = 0.6
    attack_days = 3

The built-in scenarios are themselves such files (``simlab/scenarios/*.toml``). A bad file
raises :class:`~simlab.errors.ScenarioError` naming the file, the key and what was expected,
before anything runs.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import tomllib
import typing
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from simlab.errors import ScenarioError, shown
from simlab.files import read_text
from simlab.stories import STORIES
from simlab.world import Settings, check_settings

__all__ = [
    "MAX_DOTS_PER_LINE",
    "MAX_FILE_BYTES",
    "MAX_NESTING",
    "UNSET",
    "ScenarioSpec",
    "builtin_scenarios",
    "load_scenario",
    "parse_scenario",
    "settable",
    "type_name",
]

_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_DEFENCE_OWNED = {"preload", "app_pins", "hpkp", "ct"}


@dataclass(frozen=True)
class ScenarioSpec:
    name: str
    story: str
    title: str
    description: str = ""
    sources: tuple[str, ...] = ()
    params: dict[str, Any] = field(default_factory=dict)

    def to_toml(self) -> str:
        lines = [
            "[scenario]",
            f"name = {_toml(self.name)}",
            f"story = {_toml(self.story)}",
            f"title = {_toml(self.title)}",
        ]
        if self.description:
            lines.append(f"description = {_toml(self.description)}")
        if self.sources:
            lines.append("sources = [" + ", ".join(_toml(s) for s in self.sources) + "]")
        if self.params:
            lines += ["", "[params]"] + [f"{k} = {_toml(v)}" for k, v in self.params.items()]
        return "\n".join(lines) + "\n"


_TOML_ESCAPES = {
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
    '"': '\\"',
    "\\": "\\\\",
}


def _toml(value: Any) -> str:
    """``value`` as TOML writes it (None, an unset optional setting, as :data:`UNSET`)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return _toml_string(value)
    if value is None:  # TOML has no null
        return _toml_string(UNSET)
    return repr(value)


def _toml_string(text: str) -> str:
    """A TOML basic string: TOML's short escapes, and ``\\uXXXX`` (``\\UXXXXXXXX``) for
    every other character Python would not print, which covers the control characters and
    DEL TOML forbids raw (TOML 1.0, "String") and keeps bidi overrides off the terminal."""
    if text.isprintable() and '"' not in text and "\\" not in text:
        return f'"{text}"'
    out = []
    for char in text:
        if char in _TOML_ESCAPES:
            out.append(_TOML_ESCAPES[char])
        elif char.isprintable():
            out.append(char)
        else:
            code = ord(char)
            out.append(f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
    return '"' + "".join(out) + '"'


def settable() -> dict[str, type]:
    """The parameters a scenario may set, with their types (the defence owns the rest)."""
    return dict(_settable())


@functools.cache
def _settable() -> tuple[tuple[str, type], ...]:
    """:func:`settable`, worked out once: resolving the type hints of ``Settings`` took
    about 0.4 ms, paid by every run's parameter check."""
    hints = typing.get_type_hints(Settings)
    return tuple(
        (f.name, hints[f.name])
        for f in dataclasses.fields(Settings)
        if f.name not in _DEFENCE_OWNED
    )


def _types(hint: Any) -> tuple[type, ...]:
    """The types a setting's hint admits (``int | None`` -> (int, NoneType))."""
    return typing.get_args(hint) or (hint,)


UNSET = "none"
"""How a user unsets an optional setting (one whose default is None), in any case: TOML has
no null, and ``--param owner_scts=none`` must be able to undo a scenario file's value."""


def type_name(hint: Any) -> str:
    """A setting's type as a user reads it: ``int``, or ``int, or none to unset`` for
    ``int | None``."""
    names = [t.__name__ for t in _types(hint) if t is not type(None)]
    unset = f", or {UNSET} to unset" if type(None) in _types(hint) else ""
    return " or ".join(names) + unset


def _is_unset(value: object) -> bool:
    return isinstance(value, str) and len(value) == len(UNSET) and value.lower() == UNSET


def check_params(params: dict[str, Any], where: str) -> dict[str, Any]:
    """Validate parameter names and types; ints are accepted where floats are expected.
    (Ranges, and settings that constrain each other, are :func:`check_settings`'s job.)"""
    known = settable()
    out: dict[str, Any] = {}
    for key, value in params.items():
        if key in _DEFENCE_OWNED:
            raise ScenarioError(
                f"{where}: parameter {key!r} is the defence's to set, not a scenario's: "
                "choose the defence instead (`simlab list` names them)"
            )
        if key not in known:
            raise ScenarioError(
                f"{where}: unknown parameter {shown(key)}; valid: {', '.join(sorted(known))}"
            )
        expected = known[key]
        value = _plain(value)
        if type(None) in _types(expected) and _is_unset(value):
            value = None
        if float in _types(expected) and isinstance(value, int) and not isinstance(value, bool):
            try:
                value = float(value)
            except OverflowError:  # an integer beyond any float: 1 followed by 400 zeros
                raise ScenarioError(
                    f"{where}: parameter {key!r} must be a finite number, got {shown(value)}"
                ) from None
        is_int = int in _types(expected) and bool not in _types(expected)
        if not isinstance(value, expected) or (is_int and isinstance(value, bool)):
            numeric = {int, float} & set(_types(expected)) and bool not in _types(expected)
            digits = numeric and isinstance(value, str) and not value.isascii()
            raise ScenarioError(
                f"{where}: parameter {key!r} must be {type_name(expected)}, "
                f"got {type(value).__name__} {shown(value)}"
                + ("; numbers are written in ASCII digits 0-9" if digits else "")
            )
        out[key] = value
    return out


def _plain(value: object) -> object:
    """A numpy scalar (a number read from a table or an array) as the Python value it holds;
    anything else as it is."""
    if isinstance(value, np.generic) and not isinstance(value, (str, bytes)):
        plain: object = value.item()
        return plain
    return value


MAX_FILE_BYTES = 64 * 1024
"""A scenario file's size cap, far above any real one (the largest built-in is 701 bytes).
tomllib reads 64 KiB of anything :func:`parse_scenario` lets through in at most about 0.3 s
and 30 MB (measured: 64 KiB of 33-part table headers, each with a 33-part key)."""

MAX_NESTING = 16
"""Brackets and braces open at once, outside strings. A scenario needs two (a table header,
a list of sources); tomllib recurses once per level and overflows the stack near 1,000."""

MAX_DOTS_PER_LINE = 32
"""Dots outside strings and comments on one line. A dotted key ``a.b.c`` costs tomllib time
and memory quadratic in its parts: one of 20,000 parts takes 10 s and 2.4 GB."""

_SIGNIFICANT = re.compile(r"[\"'#\n.\[\]{}]")
_STRING_END = {  # what ends each kind of TOML string, or is skipped inside it (an escape)
    '"': re.compile(r'\\.|["\n]'),  # a basic string ends at its quote (or, invalid, the line)
    "'": re.compile(r"['\n]"),  # a literal string has no escapes
    '"""': re.compile(r'\\.|"""', re.DOTALL),  # multi-line: a backslash may end a line
    "'''": re.compile(r"'''"),
}


def _string_end(text: str, start: int) -> int:
    """Where the TOML string that opens at ``start`` ends (the index after it). Up to two
    quotes right before a multi-line string's closing delimiter belong to the string."""
    quote = text[start]
    delimiter = quote * 3 if text.startswith(quote * 3, start) else quote
    pattern = _STRING_END[delimiter]
    i = start + len(delimiter)
    while (match := pattern.search(text, i)) is not None:
        if match.group()[0] == "\\":  # an escape: skip the escaped character
            i = match.end()
            continue
        if match.group() == "\n":
            return match.start()
        end = match.end()
        if len(delimiter) == 3:
            while end < len(text) and end - match.end() < 2 and text[end] == quote:
                end += 1
        return end
    return len(text)


def _check_shape(text: str, source: str) -> None:
    """Refuse, before tomllib reads ``text``, what no scenario needs and tomllib reads slowly
    or by deep recursion (:data:`MAX_NESTING`, :data:`MAX_DOTS_PER_LINE`). Strings and
    comments are skipped as TOML delimits them: a dot or bracket in a title counts for nothing.
    One pass, linear in the text."""
    line, dots, depth, i = 1, 0, 0, 0
    while (match := _SIGNIFICANT.search(text, i)) is not None:
        char, i = match.group(), match.end()
        if char == "\n":
            line, dots = line + 1, 0
        elif char == "#":
            end = text.find("\n", i)
            i = len(text) if end < 0 else end
        elif char in "\"'":
            start, i = i - 1, _string_end(text, i - 1)
            if (newlines := text.count("\n", start, i)) > 0:
                line, dots = line + newlines, 0
        elif char == ".":
            dots += 1
            if dots > MAX_DOTS_PER_LINE:
                raise ScenarioError(
                    f"{source}: line {line}: more than {MAX_DOTS_PER_LINE} dots outside strings "
                    f"(a dotted key of more than {MAX_DOTS_PER_LINE + 1} parts)"
                )
        elif char in "[{":
            depth += 1
            if depth > MAX_NESTING:
                raise ScenarioError(
                    f"{source}: line {line}: brackets nested more than {MAX_NESTING} deep"
                )
        else:
            depth = max(depth - 1, 0)


def parse_scenario(text: str, *, source: str = "<scenario>") -> ScenarioSpec:
    """A scenario from TOML ``text``; ``source`` (a file name) starts every error message."""
    if len(text) > MAX_FILE_BYTES:
        raise ScenarioError(
            f"{source}: longer than {MAX_FILE_BYTES:,} characters; scenario files are small"
        )
    _check_shape(text, source)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:  # its message ends "(at line N, column M)"
        raise ScenarioError(f"{source}: not valid TOML: {exc}") from None
    except ValueError as exc:  # an integer of more than 4,300 digits, which int() refuses
        raise ScenarioError(f"{source}: not valid TOML: {str(exc).split(';')[0]}") from None
    extra = sorted(set(data) - {"scenario", "params"})
    if extra:
        raise ScenarioError(
            f"{source}: unknown table [{extra[0]}]; expected [scenario] and [params]"
        )
    head = data.get("scenario")
    _check_not_array(data, "scenario", source)
    if not isinstance(head, dict):
        raise ScenarioError(f"{source}: missing [scenario] table")
    allowed = {"name", "story", "title", "description", "sources"}
    unknown = sorted(set(head) - allowed)
    if unknown:
        raise ScenarioError(
            f"{source}: [scenario] has unknown key {unknown[0]!r}; expected {sorted(allowed)}"
        )
    for key in ("name", "story", "title"):
        if not isinstance(head.get(key), str) or not head[key]:
            raise ScenarioError(f"{source}: [scenario] {key} must be a non-empty string")
    if not _NAME.match(head["name"]):
        raise ScenarioError(
            f"{source}: [scenario] name {head['name']!r} must be lower-case letters, "
            "digits and hyphens"
        )
    if head["story"] not in STORIES:
        raise ScenarioError(
            f"{source}: [scenario] story {head['story']!r} is not one of "
            f"{', '.join(sorted(STORIES))}"
        )
    description = head.get("description", "")
    if not isinstance(description, str):
        raise ScenarioError(f"{source}: [scenario] description must be a string")
    sources = head.get("sources", [])
    if not isinstance(sources, list) or not all(isinstance(s, str) for s in sources):
        raise ScenarioError(f"{source}: [scenario] sources must be a list of strings")
    params = data.get("params", {})
    _check_not_array(data, "params", source)
    if not isinstance(params, dict):
        raise ScenarioError(f"{source}: [params] must be a table")
    checked = check_params(params, f"{source}: [params]")
    check_settings(dataclasses.replace(Settings(), **checked), f"{source}: [params]")
    return ScenarioSpec(
        head["name"], head["story"], head["title"], description, tuple(sources), checked
    )


def _check_not_array(data: dict[str, Any], table: str, source: str) -> None:
    """``[[scenario]]`` reads as a list of tables: say so, rather than "missing"."""
    if isinstance(data.get(table), list):
        raise ScenarioError(
            f"{source}: [[{table}]] is an array of tables; write [{table}] (one pair of brackets)"
        )


def load_scenario(path: str | Path) -> ScenarioSpec:
    """A scenario file, read and checked; any problem is a :class:`ScenarioError` naming it."""
    p = Path(path)
    return parse_scenario(_read(p), source=str(p))


def _read(path: Path) -> str:
    """The text of a regular file of at most :data:`MAX_FILE_BYTES`, in UTF-8
    (:func:`simlab.files.read_text`: a FIFO, a folder or ``/dev/zero`` is refused at once)."""
    return read_text(path, MAX_FILE_BYTES, "scenario file", ScenarioError)


def builtin_scenarios() -> dict[str, ScenarioSpec]:
    """The scenarios shipped with simlab, by name, in a stable order."""
    folder = resources.files("simlab") / "scenarios"
    specs = [
        _parsed_builtin(f.read_text(encoding="utf-8"), f"simlab/scenarios/{f.name}")
        for f in sorted(folder.iterdir(), key=lambda f: f.name)
        if f.name.endswith(".toml")
    ]
    order = list(STORIES)
    specs.sort(key=lambda s: (order.index(s.story) if s.story in order else 99, s.name))
    # Each caller gets its own params dict: a caller that edits one changes no other run.
    return {s.name: dataclasses.replace(s, params=dict(s.params)) for s in specs}


@functools.lru_cache(maxsize=64)
def _parsed_builtin(text: str, source: str) -> ScenarioSpec:
    """A built-in file's spec, parsed once per text (every run looks its scenario up, and
    parsing and checking all of them costs milliseconds). Keyed by the text, so an edited
    file is parsed again."""
    return parse_scenario(text, source=source)
