"""Client software as data: the browser and app releases people ran, and what each enforced.

An outcome depends on two things that simlab keeps apart: what the *site* deployed (the
defence column) and what the *clients* of that moment did with it. The second is this
module. Each :class:`Release` is one row of ``simlab/data/clients.toml``: a release where
certificate-trust behaviour changed, its date, and its rules (static pins, HPKP, CT,
Expect-CT, revocation, HSTS, user-installed roots, which errors a user can click through),
each with its source. An :class:`Era` (a month, ``"YYYY-MM"``) picks the release of every
family current that month, and the family shares of that year.

A release counts for a month when it reached the stable channel by the 15th of that month
(Chrome and Firefox update themselves within days to a few weeks, so its users ran it for
most of the month); one released later counts from the next month.

The world's decision pipeline reads these records and never branches on a browser's name.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields
from importlib import resources
from typing import Any

from simlab.errors import SimlabError

__all__ = [
    "ERRORS",
    "FATAL_STATES",
    "KINDS",
    "REVOCATION",
    "ClientDataError",
    "Era",
    "Release",
    "era",
    "population",
    "release_table",
    "releases",
]

KINDS = ("browser", "app", "legacy")
ERRORS = ("authority_invalid", "date_invalid", "name_invalid", "ct_required")
"""Certificate errors a release may let the user click through. Revocation and pin failures
are never overridable (Chromium ``IsCertErrorFatal``; Firefox's pinning error has no override)."""
FATAL_STATES = ("hsts", "static_pins", "dynamic_pins")
REVOCATION = ("crlset", "ocsp-soft-fail", "onecrl+ocsp-soft-fail", "crlite", "none")
CT_SCOPES = ("none", "ev", "all")
_MONTH = re.compile(r"([0-9]{4})-([0-9]{2})")  # ASCII digits: \d takes any script's


class ClientDataError(SimlabError):
    """The client release table is malformed (a wrong field, family or date)."""


@dataclass(frozen=True, slots=True)
class Release:
    """One client release where behaviour changed; in force until the next of its family."""

    id: str
    family: str
    kind: str
    name: str
    released: dt.date
    static_pins: bool
    static_pins_timely_days: int
    hpkp: str | None
    hpkp_reports: bool
    ct_policy: str | None
    ct_scope: str
    ct_timely_days: int
    expect_ct: bool
    revocation: str
    hsts: bool
    hsts_preload: bool
    hsts_preload_timely_days: int
    user_roots: bool
    user_roots_bypass_pins: bool
    overridable: frozenset[str]
    fatal_on: frozenset[str]
    source: Mapping[str, str]

    @property
    def requires_ct(self) -> bool:
        """Whether a DV certificate (all simlab issues) must be CT-compliant for this client."""
        return self.ct_scope == "all" and self.ct_policy is not None


@dataclass(frozen=True, order=True)
class Era:
    """A month whose clients a run simulates."""

    year: int
    month: int

    @property
    def start(self) -> dt.datetime:
        """Midnight UTC on the first day of the month: the run's epoch (simulated time 0)."""
        return dt.datetime(self.year, self.month, 1, tzinfo=dt.UTC)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


def _parse_month(text: str, where: str) -> Era:
    match = _MONTH.fullmatch(text) if isinstance(text, str) else None
    if match is None or not 1 <= int(match[2]) <= 12:
        raise ClientDataError(f"{where}: expected a month as 'YYYY-MM', got {text!r}")
    return Era(int(match[1]), int(match[2]))


def _in_force_from(released: dt.date) -> Era:
    if released.day <= 15:
        return Era(released.year, released.month)
    year, month = (released.year, released.month + 1)
    return Era(year + 1, 1) if month == 13 else Era(year, month)


@dataclass(frozen=True)
class _Table:
    releases: tuple[Release, ...]
    shares: tuple[tuple[Era, Mapping[str, Mapping[str, float]]], ...]
    shares_source: str
    log_all_from: Era
    log_all_source: str
    first: Era
    last: Era


_BOOLS = (
    "static_pins",
    "hpkp_reports",
    "expect_ct",
    "hsts",
    "hsts_preload",
    "user_roots",
    "user_roots_bypass_pins",
)

_DAYS = ("static_pins_timely_days", "ct_timely_days", "hsts_preload_timely_days")


def _release(row: Mapping[str, Any], where: str) -> Release:
    from simlab.ct.policy import POLICIES
    from simlab.hpkp import PROFILES

    expected = {f.name for f in fields(Release)}
    missing = sorted(expected - set(row) - {"source"})
    extra = sorted(set(row) - expected)
    if missing or extra:
        raise ClientDataError(f"{where}: missing {missing} / unknown {extra} fields")

    def choice(key: str, valid: tuple[str, ...] | Mapping[str, object]) -> str:
        value = row[key]
        if value not in valid:
            raise ClientDataError(f"{where}: {key} = {value!r}, expected one of {list(valid)}")
        return str(value)

    for key in _BOOLS:
        if not isinstance(row[key], bool):
            raise ClientDataError(f"{where}: {key} must be true or false")
    for key in _DAYS:
        if isinstance(row[key], bool) or not isinstance(row[key], int) or row[key] < 0:
            raise ClientDataError(f"{where}: {key} must be a whole number of days (0: never)")
    if not isinstance(row["released"], dt.date):
        raise ClientDataError(f"{where}: released must be a date (YYYY-MM-DD)")
    overridable = frozenset(row["overridable"])
    fatal_on = frozenset(row["fatal_on"])
    if not overridable <= set(ERRORS) or not fatal_on <= set(FATAL_STATES):
        raise ClientDataError(
            f"{where}: overridable must be within {ERRORS}, fatal_on {FATAL_STATES}"
        )
    source = row.get("source") or {}
    if not isinstance(source, Mapping) or not all(isinstance(v, str) for v in source.values()):
        raise ClientDataError(f"{where}: [release.source] must map rule names to citations")
    hpkp = choice("hpkp", {"none": None, **PROFILES})
    ct_policy = choice("ct_policy", POLICIES)
    return Release(
        id=str(row["id"]),
        family=str(row["family"]),
        kind=choice("kind", KINDS),
        name=str(row["name"]),
        released=row["released"],
        hpkp=None if hpkp == "none" else hpkp,
        ct_policy=None if ct_policy == "none" else ct_policy,
        ct_scope=choice("ct_scope", CT_SCOPES),
        revocation=choice("revocation", REVOCATION),
        overridable=overridable,
        fatal_on=fatal_on,
        source={str(k): v for k, v in source.items()},
        **{key: row[key] for key in (*_BOOLS, *_DAYS)},
    )


@functools.cache
def _table() -> _Table:
    text = (resources.files("simlab") / "data" / "clients.toml").read_text(encoding="utf-8")
    data = tomllib.loads(text)
    rows = tuple(
        _release(row, f"clients.toml release {row.get('id', i)!r}")
        for i, row in enumerate(data["release"])
    )
    ids = [r.id for r in rows]
    if len(set(ids)) != len(ids):
        raise ClientDataError("clients.toml: release ids must be unique")
    families = {r.family for r in rows}
    shares = []
    for i, block in enumerate(data["shares"]):
        where = f"clients.toml shares #{i + 1}"
        month = _parse_month(block["from"], where)
        mix = {kind: dict(block[kind]) for kind in ("browser", "app")}
        unknown = sorted({f for m in mix.values() for f in m} - families)
        if unknown:
            raise ClientDataError(f"{where}: unknown families {unknown}")
        shares.append((month, mix))
    shares.sort(key=lambda s: s[0])
    return _Table(
        releases=rows,
        shares=tuple(shares),
        shares_source=str(data["shares_source"]["text"]),
        log_all_from=_parse_month(data["ca_practice"]["log_all_from"], "ca_practice"),
        log_all_source=str(data["ca_practice"]["source"]),
        first=shares[0][0],
        last=_parse_month(data["shares_source"]["valid_until"], "shares_source"),
    )


def releases() -> tuple[Release, ...]:
    """Every release in the table, in file order (grouped by family, oldest first)."""
    return _table().releases


def era(text: str | Era) -> Era:
    """Parse and check an era: a month within the table's range, else :class:`SimlabError`."""
    if isinstance(text, Era):
        month = text
    else:
        try:
            month = _parse_month(text, "era")
        except ClientDataError as exc:
            raise SimlabError(str(exc)) from None
    table = _table()
    if not table.first <= month <= table.last:
        raise SimlabError(
            f"era {str(month)!r} is outside the client table: valid from {table.first} "
            f"to {table.last}"
        )
    return month


def current(family: str, month: Era) -> Release | None:
    """The release of ``family`` in force in ``month`` (None before the family's first)."""
    started = [
        r for r in _table().releases if r.family == family and _in_force_from(r.released) <= month
    ]
    return max(started, key=lambda r: r.released, default=None)


def population(month: str | Era) -> dict[str, tuple[tuple[Release, float], ...]]:
    """Per kind, the releases of ``month`` with their shares (summing to 1 within a kind).

    Families with no release yet, or a zero share, are left out; the rest are renormalised.
    """
    when = era(month)
    mix = next(m for start, m in reversed(_table().shares) if start <= when)
    out: dict[str, tuple[tuple[Release, float], ...]] = {}
    for kind in KINDS:
        weights: list[tuple[Release, float]] = []
        families = mix.get(kind, {}) if kind != "legacy" else {"legacy": 1.0}
        for family, share in families.items():
            release = current(family, when)
            if release is not None and share > 0:
                weights.append((release, float(share)))
        total = sum(w for _, w in weights)
        out[kind] = tuple((r, w / total) for r, w in weights)
    return out


def valid_range() -> tuple[Era, Era]:
    """The first and last month the table covers."""
    return _table().first, _table().last


def cas_log_everything(month: Era) -> bool:
    """Whether public CAs logged every certificate they issued by ``month``."""
    return month >= _table().log_all_from


def release_table() -> str:
    """The README's table of releases, generated from the data (a test keeps them in sync)."""

    def mark(flag: bool) -> str:
        return "yes" if flag else "-"

    head = (
        "| release | from | static pins | HPKP | CT required | Expect-CT | revocation | HSTS "
        "| user roots | click-through | every error fatal on |"
    )
    lines = [head, "|" + "|".join("---" for _ in range(11)) + "|"]
    for r in _table().releases:
        ct = f"{r.ct_policy}" if r.requires_ct else ("EV only" if r.ct_scope == "ev" else "-")
        if r.requires_ct and r.ct_timely_days:
            ct += f" (off after {r.ct_timely_days} days without update)"
        roots = "trusted" if r.user_roots else "not trusted"
        if r.user_roots and r.user_roots_bypass_pins:
            roots += ", bypass pins"
        pins = mark(r.static_pins)
        if r.static_pins and r.static_pins_timely_days:
            pins += f" ({r.static_pins_timely_days} days)"
        hsts = mark(r.hsts)
        if r.hsts and r.hsts_preload:
            hsts += ", preload" + (
                f" ({r.hsts_preload_timely_days} days)" if r.hsts_preload_timely_days else ""
            )
        lines.append(
            f"| {r.name} | {_in_force_from(r.released)} | {pins} "
            f"| {r.hpkp or '-'} | {ct} | {mark(r.expect_ct)} | {r.revocation} "
            f"| {hsts} | {roots} | {', '.join(sorted(r.overridable)) or 'none'} "
            f"| {', '.join(sorted(r.fatal_on)) or '-'} |"
        )
    return "\n".join(lines)
