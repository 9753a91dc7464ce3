"""The batched engine: the reference pipeline's outcomes, with one decision per class.

The reference engine (:meth:`simlab.world.World.run`) sends every visit through
:meth:`~simlab.world.World.connect`: route, :meth:`~simlab.world.World.decide` (path
validation, revocation, CT policy, pins), then :meth:`~simlab.world.World.conclude`.
Most of that work repeats: thousands of clients running the same release see the same
server in the same state. This engine processes the same visits in the same order,
interleaved with the same events, but calls ``decide`` once per *class* of visits that
must get the same decision, and reuses it for the rest of the class. What follows a
decision (the click-through draw, reports) still runs for every visit, in order, so the
run's random stream is consumed exactly as in the reference. A client whose next visit is
in the same class as its last one skips the pipeline altogether (:class:`_Steady`); the
headers its repeated accepted visits note again are applied once, as the last of them
noted them. A visit that is accepted, or blocked with no pin failure to report (revoked,
a CT or certificate error on an HSTS host), has nothing else following it: its outcome is
the class's *answer* (:func:`_answer`).

Those steady visits are handled in bulk with numpy, a window of visits at a time: a window
ends at the next event that may change the world (quiet events, the monitor's polls, run
in time order between the window's other visits) and lasts at most a day. A visit is
answered in bulk if the client's record has an answer, the visit is before its horizon,
and its class holds at the current version: the record is of that version, or the
per-visit carry's checks pass for the whole class (same route and endpoint, same CT logs
and revocations, a decision with the same answer known at this version). Every other
visit, and every later visit of the same client in the window, goes through the checks
below one at a time, in order.

If an earlier visit in a visit's class was answered (accepted, or blocked with nothing
following), the record that visit left is copied, with the header notes of an accepted
visit deferred as repeated notes are (a blocked one notes nothing). The class holds the
client's header state as values, and the notes replace what they note (a valid HPKP
header gives the same entry whatever was noted before, RFC 7469 section 2.5; HSTS and
Expect-CT entries are overwritten), so the same headers leave the same state; what they
do not replace is the client's own, read where it was (:meth:`_Steady.bound`); and
noting them once as of the last accepted visit leaves what noting them at each visit
leaves (:meth:`_Steady.materialise`). Until then the client's state lags behind its
record, but only in entries the record refreshes, which neither its checks nor its
horizon read (:meth:`_Steady.tokens_at`, :meth:`_Steady.shared_horizon`). An HPKP header
that notes no entry of its own (max-age=0, or one the release rejects) does what it does
to the entry the client holds, which may expire meanwhile: unless the client starts from
the state every client starts with, it is processed at once.

A client's first visit starts from that start state, and its class is then found without
routing, validating or reading the start state: the client's release, access network and
trust store, and the time-dependent inputs, fix it while the validation's bucket lasts, and
so does the record's horizon but for the client's own build and app release. A client's
only visit in a window whose profile is known this way is answered in bulk too: the
time-dependent inputs are computed with numpy (:class:`_Builds`, by the rules of
:func:`_build_horizon` and ``timed``), and the client borrows the profile's record until it
needs one of its own.

When an event changes the world (an attack starts or ends, a certificate is revoked), a
client's next visit may leave its record's class for a class whose earlier visit was
answered: its record's notes are applied and that visit's record copied. Within the old
record's horizon and window, the client's tokens are the old class's but for the
revocations the new endpoint's chain has, so the move is the same for every client of the
old class with the same release, access network and store, while the validation's bucket
lasts. A client's only visit in a window that makes a move some client has made is made in
bulk too (:class:`_Move`).

A class is everything ``decide`` reads:

- the world's state, as a version number that changes whenever an event changed what
  answers or what it serves (:func:`_fingerprint`): who is on-path, DNS, the endpoints and
  their chains and headers, revocations, the trusted CT logs, the app releases;
- the endpoint that answers, and whether it is on-path (OCSP reachability);
- the client's release, and the path validation (the validator's own exact memo, keyed by
  chain, trust store, host and validity bucket);
- the client's state for the host at that moment: its live HPKP entry (pins, scope,
  report-uri), whether it knows the host as HSTS from a noted header (the preload list
  counts by the build's timeliness, below), whether its Expect-CT entry is live;
- the time-dependent inputs, as the comparisons ``decide`` makes: revocation (each
  revocation of a certificate the endpoint serves, against the visit and against the visit
  less the push delay; no other revocation changes an answer on its chain), build
  timeliness for CT, for static pins and for the HSTS preload list (an auto-updating
  build younger than the list's span stays timely across new builds), the app release the
  user runs and whether its pins expired.

The OCSP queries a decision made are counted again at each reuse (the responder's query
log is how Fox-IT sized DigiNotar's attack). An HPKP pin mismatch is reused like any
other decision: a pin failure leaves the client's pins as they were (RFC 7469 section 2.6;
``hpkp.TRANSITIONS``), and what follows it, the report, is made at every visit.
Reading the client's HPKP entry for the key applies an expiry that is due (as every read of
the store does); the reference may apply it at a later read, with the same outcomes.
``tests/test_engines.py`` runs both engines on every scenario and defence, and on drawn
parameters, and asserts equal tables, metrics, events, detections, OCSP query counts and
client state.
"""

from __future__ import annotations

import bisect
import functools
import math
import operator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from simlab import hpkp
from simlab.clock import DAY, SimTime
from simlab.errors import ScenarioError
from simlab.pki import TrustStore, Validation, Validator
from simlab.table import Rows
from simlab.world import (
    EXPECT_CT_MAX_AGE,
    HSTS_HEADER,
    Client,
    Decision,
    Endpoint,
    Outcome,
    World,
)

__all__ = ["run"]

_NOTHING_TIMED: tuple[Any, ...] = ((), (), None)

_Reads = tuple[bool, tuple[float | None, ...], bool]
"""What ``decide`` reads for one release (:func:`_reads`): whether it checks revocation, the
build-time lists' timeliness windows (CT log list, static pins, HSTS preload; empty if none
is read), and whether it runs the app's bundled pins."""


def _fingerprint(world: World) -> tuple[Any, ...]:
    """World state that ``answerer`` and ``decide`` read and that only events change.

    Objects appear by identity; :func:`run` keeps every fingerprinted object alive, so an
    identity cannot be reused for a different object within a run. An endpoint is frozen,
    so its identity names its chain, SCTs and headers too. Revocations are named by
    certificate, not by time alone (a CA may revoke two certificates as of one time).
    :func:`run` reads the revocations and the app inputs back from positions 5 and 6."""
    return (
        id(world.attacker),
        world.attacker_position,
        tuple((node, id(e)) for node, e in world.serving.items()),
        tuple(sorted(world.registry.controller.items())),
        tuple(sorted(world.registry.address.items())),
        world.responder.revocations(),
        _app_inputs(world),
        id(world.known_logs),
    )


def _app_inputs(world: World) -> tuple[int, ...]:
    """The app releases and how users adopt them (by identity): what an app client's
    release, and when it may change (:func:`_own_horizon`), are worked out from."""
    return (id(world.adoption), *(id(r) for r in world.releases))


def _keep(world: World) -> tuple[object, ...]:
    """The objects a fingerprint names by identity."""
    return (
        [world.attacker, *world.serving.values()],
        world.known_logs,
        list(world.releases),
        world.adoption,
    )


def run(world: World, until: SimTime | None = None) -> Rows:
    """Run every visit and event up to ``until`` (default: the end), like
    :meth:`World.run`, and return the connections as columns (``world.rows`` stays empty)."""
    end, times, ids = world.begin(until)
    engine = world.engine
    host = world.host
    s = world.s
    validator = world.validator
    delay = s.revocation_push_days * DAY
    clients = world.clients

    versions: dict[tuple[Any, ...], int] = {}
    alive: list[tuple[object, ...]] = []

    def version_now() -> tuple[int, tuple[tuple[bytes, int, SimTime], ...], tuple[int, ...]]:
        """The version's number, and its revocations and app inputs (read from the
        fingerprint, which holds them)."""
        fp = _fingerprint(world)
        number = versions.get(fp)
        if number is None:
            number = versions[fp] = len(versions)
            alive.append(_keep(world))
        return number, fp[5], fp[6]

    version, revocations, app_inputs = version_now()
    routes: dict[tuple[int, str], tuple[Endpoint | None, bool]] = {}

    def route_of(client: Client) -> tuple[Endpoint | None, bool]:
        """Who answers the client at this version, and whether it is on-path."""
        route = routes.get((version, client.access))
        if route is None:
            endpoint = world.answerer(client)
            on_path = endpoint is world.attacker and world.attacker_position is not None
            route = routes[(version, client.access)] = (endpoint, on_path)
        return route

    # The revocations that can change a decision on an endpoint's chain: its own
    # certificates' (the validated chain's are among them), per version.
    chain_revocations: dict[tuple[int, int], tuple[SimTime, ...]] = {}

    def revocations_of(endpoint: Endpoint) -> tuple[SimTime, ...]:
        key = (version, id(endpoint))
        found = chain_revocations.get(key)
        if found is None:
            found = chain_revocations[key] = (
                world.responder.revocation_times(endpoint.chain.certificates) if revocations else ()
            )
        return found

    decisions: dict[tuple[Any, ...], tuple[Decision, dict[int, int]]] = {}
    queries = world.responder.queries

    def ask(asked: dict[int, int], times: int = 1) -> None:
        """Count again, ``times`` over, the OCSP queries a memoised decision made (by serial):
        each visit its decision answers makes them, as in the pipeline."""
        for serial, n in asked.items():
            queries[serial] = queries.get(serial, 0) + n * times

    results: dict[tuple[str, bool, str, str], int] = {}
    software = [(c.release, c.access) for c in clients]  # read once; checked at the end
    stores = list(map(_store_of, clients))  # by identity (:func:`regroup` names them by id)
    n_clients = len(clients)
    group_keys: list[tuple[int, str, int]] = []  # (release, access network, trust store)
    group_of = np.zeros(n_clients, dtype=np.int64)

    def regroup() -> None:
        """Number each client's release, access network and trust store: with the version
        and the time-dependent inputs, a first visit's profile (again when stores change)."""
        numbers: dict[tuple[int, str, int], int] = {}
        group_of[:] = [
            numbers.setdefault((id(release), access, id(store)), len(numbers))
            for (release, access), store in zip(software, stores, strict=True)
        ]
        group_keys[:] = list(numbers)

    regroup()
    # Worked out once per group, then spread to its clients: what each client's release
    # makes decide() read, its access network, and its table fields. In this numbering:
    # regroup renumbers when stores change, and none of these depends on the store.
    first_groups = group_of.copy()
    in_group = first_groups.tolist()
    group_software = [software[cid] for cid in np.unique(first_groups, return_index=True)[1]]
    group_reads = [_reads(world, release, release.kind) for release, _ in group_software]
    reads = [group_reads[g] for g in in_group]
    steady: list[_Steady | None] = [None] * n_clients

    def code_of(key: tuple[str, bool, str, str]) -> int:
        code = results.get(key)
        if code is None:
            code = results[key] = len(results)
        return code

    def timed(client: Client, at: SimTime, revoked: tuple[SimTime, ...]) -> tuple[Any, ...]:
        """The class inputs that depend on time but not on the client's header state;
        ``revoked``: the revocation times of the endpoint's chain (:func:`revocations_of`)."""
        revocation, spans, app = reads[client.id]
        if not (revocation or app or spans):
            return _NOTHING_TIMED
        rev: tuple[int, ...] = ()
        if revocation and revoked:
            # How many of them the pushed lists and the OCSP responder know of: the same
            # comparisons (at - delay >= r, at >= r) the pipeline makes, counted.
            rev = (
                bisect.bisect_right(revoked, at - delay),
                bisect.bisect_right(revoked, at),
            )
        timely: tuple[bool, ...] = ()
        if spans:
            build = world.build_of(client, at)
            timely = tuple(span is None or build is None or at - build < span for span in spans)
        app_key: tuple[int, bool] | None = None
        if app:
            bundle = world.adoption.release_for(client.app_threshold, world.releases, at)
            pins = bundle.pins
            app_key = (
                id(bundle),
                pins is not None and pins.expiration is not None and at >= pins.expiration,
            )
        return rev, timely, app_key

    # The visits a client's steady record answers without checking are handled in bulk, a
    # window at a time. A record is of a *class*: what its decision and notes depend on
    # (endpoint, route, release, validation, class tokens, the CT logs its Expect-CT note
    # relies on, the revocations and app releases its horizon was worked out with), and its
    # answer (what each of its visits gets, :func:`_answer`). After an event, a class
    # carries to the new version if the same checks the per-visit carry makes pass for it
    # (:func:`check_class`). These arrays mirror each record (:func:`sync`).
    n_visits = len(times)
    codes = np.zeros(n_visits, dtype=np.int64)
    horizon = np.full(n_clients, -math.inf)  # -inf: no record with an answer
    window = np.zeros(n_clients)
    last = np.zeros(n_clients)  # the last accepted visit of the record, kept in bulk
    pending = np.zeros(n_clients, dtype=bool)  # ``last`` is newer than the record's
    answers = np.zeros(n_clients, dtype=np.int64)  # each record's answer (:class:`_Steady`)
    record_class = np.zeros(n_clients, dtype=np.int64)
    classes: dict[tuple[Any, ...], int] = {}
    class_info: list[tuple[Endpoint, Client, tuple[Any, ...]]] = []
    class_asked = np.full(64, -1, dtype=np.int64)  # per class: asked, if it holds now
    asked_ids: dict[tuple[tuple[int, int], ...], int] = {(): 0}
    asked_list: list[dict[int, int]] = [{}]

    def asked_number(asked: dict[int, int]) -> int:
        if not asked:
            return 0
        key = tuple(sorted(asked.items()))
        number = asked_ids.get(key)
        if number is None:
            number = asked_ids[key] = len(asked_list)
            asked_list.append(asked)
        return number

    def sync(cid: int) -> None:
        """Mirror client ``cid``'s record into the arrays the bulk test reads."""
        nonlocal class_asked
        same = steady[cid]
        if same is None or same.answer is None:
            horizon[cid] = -math.inf
            return
        client = clients[cid]
        key = (
            id(same.endpoint),
            same.on_path,
            id(client.release),
            id(same.validation),
            same.tokens,
            client.access,
            same.logs if same.expect_ct_noted else None,
            revocations_of(same.endpoint) if reads[cid][0] else None,
            app_inputs if reads[cid][2] else None,  # its horizon was worked out with
            # A class spans versions, and its decision may differ between them (a distrusted
            # CT log turns an accepted class into a blocked one): records with different
            # answers are in different classes, so that a class that holds now holds for all.
            same.answer,
        )
        number = classes.get(key)
        if number is None:
            number = classes[key] = len(class_info)
            class_info.append((same.endpoint, client, key))
            if number == len(class_asked):
                class_asked = np.concatenate([class_asked, np.full(number, -1, dtype=np.int64)])
        record_class[cid] = number
        class_asked[number] = asked_number(same.asked)  # its decision is memoised for now
        horizon[cid] = same.horizon
        window[cid] = same.window
        last[cid] = same.last
        answers[cid] = same.answer

    def check_class(number: int) -> None:
        """Whether a class's records hold at this version, as the per-visit carry finds:
        the same endpoint answers, by the same route; the logs, revocations and app
        releases its records rely on, their horizons included, are unchanged; and its
        decision at this version is known and gives the class's answer."""
        endpoint, client, key = class_info[number]
        route = route_of(client)
        if route[0] is not endpoint or route[1] != key[1]:
            return
        if key[6] is not None and key[6] != id(world.known_logs):
            return
        if key[7] is not None and key[7] != revocations_of(endpoint):
            return
        if key[8] is not None and key[8] != app_inputs:
            return
        memo = decisions.get((version, *key[:5]))
        if memo is None:
            return
        answered = _answer(endpoint, memo[0])
        if answered is not None and code_of(answered) == key[9]:
            class_asked[number] = asked_number(memo[1])

    def count_asked(who: npt.NDArray[np.int64]) -> None:
        """The OCSP queries of the bulk visits by ``who`` (one client per visit)."""
        if len(asked_list) == 1:
            return
        numbers = class_asked[record_class[who]]
        counts = np.bincount(numbers, minlength=len(asked_list)).tolist()
        for number, times_asked in enumerate(counts[1:], start=1):
            if times_asked:
                ask(asked_list[number], times_asked)

    def ahead(
        client: Client, endpoint: Endpoint, on_path: bool, at: SimTime, dkey: tuple[Any, ...]
    ) -> tuple[Decision, dict[int, int]]:
        """The decision of the class the client's notes just put it in, made at ``at`` (the
        class fixes it, whenever the next visit comes), and memoised. The OCSP
        queries it made are taken back: each visit of the class counts them when it comes.
        ``decide`` changes nothing else a run keeps (its memos aside): reading the pins
        just noted applies no expiry, and a pin mismatch leaves them noted."""
        saved = dict(queries)
        decision = world.decide(
            client, endpoint.chain, at, tls_scts=endpoint.tls_scts, on_path=on_path
        )
        asked = {serial: n - saved.get(serial, 0) for serial, n in queries.items()}
        asked = {serial: n for serial, n in asked.items() if n}
        queries.clear()
        queries.update(saved)
        memo = decisions[dkey] = (decision, asked)
        return memo

    fresh = np.ones(n_clients, dtype=bool)  # the client has not visited yet
    # A visit in a class whose earlier visit was answered (:func:`_answer`): the record that
    # visit left, to start again from ``at`` (see :meth:`_Steady.again` for when it is the
    # client's too).
    answered_records: dict[tuple[Any, ...], _Steady] = {}
    # The same, found without routing, validating or reading the start state: by what
    # fixes them (the version, the client's release, access network and trust store) and
    # the time-dependent inputs, while the validation's bucket lasts (:func:`first_visit`).
    first_by_profile: dict[tuple[Any, ...], _Profile] = {}

    def first_visit(k: int, at: SimTime, cid: int) -> bool:
        """A client's first visit in a class whose first visit was answered, as the
        ``answered_records`` path of :func:`visit` answers it, its record mirrored (as
        :func:`sync` does); False, having changed nothing, if it is not known to be one."""
        client = clients[cid]
        endpoint = route_of(client)[0]
        if endpoint is None:
            return False
        now = timed(client, at, revocations_of(endpoint))
        profile = (version, id(client.release), client.access, id(client.store), now)
        known = first_by_profile.get(profile)
        if known is None or not at < known.until:
            return False
        fresh[cid] = False
        ask(known.asked)
        record = known.record.again(at)
        assert record.answer is not None
        codes[k] = record.answer
        shared = known.shared
        record.horizon = (
            at if shared is None else min(shared, _own_horizon(world, client, at, reads[cid]))
        )
        steady[cid] = record
        if known.number is None:
            sync(cid)
            known.number = int(record_class[cid])
            known.asked_number = int(class_asked[known.number])
            return True
        record_class[cid] = known.number
        class_asked[known.number] = known.asked_number
        horizon[cid] = record.horizon
        window[cid] = record.window
        last[cid] = at
        answers[cid] = record.answer
        return True

    # First visits answered in bulk leave their profile's template in ``steady``, shared
    # (``borrowed``); the client's own times are in the arrays until it needs its own record.
    borrowed = np.zeros(n_clients, dtype=bool)
    builds = _Builds.of(world, group_reads, first_groups)
    checks_revocation = np.array([r[0] for r in group_reads], dtype=bool)[first_groups]
    no_app = np.array([not r[2] for r in group_reads], dtype=bool)[first_groups]
    networks: dict[str, int] = {}
    network_of = np.array(
        [networks.setdefault(access, len(networks)) for _, access in group_software],
        dtype=np.int64,
    )[first_groups]
    network_client = np.zeros(len(networks), dtype=np.int64)  # any client on each network
    network_client[network_of] = np.arange(n_clients)

    def own(cid: int) -> _Steady | None:
        """The client's record, up to date with its bulk visits of earlier windows; made its
        own if it was borrowed (a copy of the template as :func:`first_visit` makes it, with
        the client's times from the arrays)."""
        same = steady[cid]
        if same is None:
            return None
        if borrowed[cid]:
            borrowed[cid] = False
            same = steady[cid] = same.again(float(last[cid]))
            same.window = float(window[cid])
            same.horizon = float(horizon[cid])
        elif pending[cid]:
            same.last = float(last[cid])
            same.pending = True
        pending[cid] = False
        return same

    def revocations_known(
        cids: npt.NDArray[np.int64], ats: npt.NDArray[np.float64]
    ) -> npt.NDArray[np.int64]:
        """The revocation part of ``timed`` for visits by ``cids`` at ``ats``, as two
        columns: how many revocations of the answering endpoint's chain the pushed lists and
        the OCSP responder know of (-1 in both: not read; -2: nobody answers)."""
        rev = np.full((len(cids), 2), -1, dtype=np.int64)
        nets = network_of[cids]
        for net in np.unique(nets).tolist():
            endpoint = route_of(clients[network_client[net]])[0]
            if endpoint is None:
                rev[nets == net] = -2
                continue
            revoked = np.array(revocations_of(endpoint))
            if len(revoked):
                reading = (nets == net) & checks_revocation[cids]
                rev[reading, 0] = np.searchsorted(revoked, ats[reading] - delay, side="right")
                rev[reading, 1] = np.searchsorted(revoked, ats[reading], side="right")
        return rev

    def fresh_in_bulk(
        k: int, who: npt.NDArray[np.int64], visits: npt.NDArray[np.int64]
    ) -> tuple[npt.NDArray[np.int64], list[_Profile | None], npt.NDArray[np.int64]] | None:
        """The first visits of the window from ``k`` (by ``who``; ``visits``: how many each
        client makes in it) that :func:`first_visit` would answer: the window positions,
        their known profiles, and each visit's profile there. Only a client's one visit in
        the window, of a client whose release runs no app pins (their adoption curve is
        read one visit at a time), in a profile whose class is numbered."""
        if not first_by_profile:
            return None
        positions = np.flatnonzero(fresh[who] & no_app[who])
        positions = positions[visits[who[positions]] == 1]
        if not len(positions):
            return None
        cids, ats = who[positions], times[k + positions]
        # The class inputs ``timed`` gives, as numbers: revocations known, and whether the
        # build's CT, static pin and HSTS preload lists are timely (-1: none is read).
        rev = revocations_known(cids, ats)
        timely = builds.timely(cids, ats)
        groups = group_of[cids]
        base = int(rev.max()) + 3
        key = ((groups * base + rev[:, 0] + 2) * base + rev[:, 1] + 2) * 27
        key += ((timely[:, 0] + 1) * 3 + timely[:, 1] + 1) * 3 + timely[:, 2] + 1
        _, firsts, which = np.unique(key, return_index=True, return_inverse=True)
        rows = np.column_stack([groups, rev, timely])[firsts]
        profiles: list[_Profile | None] = []  # None: no profile to copy
        until = np.full(len(rows), -math.inf)
        for u, (group, r0, r1, *lists) in enumerate(rows.tolist()):
            release, access, store = group_keys[group]
            now = (
                () if r0 == -1 else (r0, r1),
                () if lists[0] == -1 else tuple(map(bool, lists)),
                None,
            )
            known = first_by_profile.get((version, release, access, store, now))
            if r0 == -2 or known is None or known.number is None:
                known = None  # unreachable, or not known (yet: a first visit will number it)
            else:
                until[u] = known.until
            profiles.append(known)
        which = which.reshape(-1)
        keep = ats < until[which]
        if not keep.any():
            return None
        return positions[keep], profiles, which[keep]

    def answer_fresh(
        k: int,
        upto: int,
        positions: npt.NDArray[np.int64],
        profiles: list[_Profile | None],
        which: npt.NDArray[np.int64],
    ) -> None:
        """Answer the first visits :func:`fresh_in_bulk` found, those before ``upto``, as
        :func:`first_visit` answers them one at a time."""
        before = k + positions < upto
        positions, which = positions[before], which[before]
        if not len(positions):
            return
        done = k + positions
        cids, ats = ids[done], times[done]
        visits = np.bincount(which, minlength=len(profiles)).tolist()
        code = np.zeros(len(profiles), dtype=np.int64)
        number = np.zeros(len(profiles), dtype=np.int64)
        noted = np.zeros(len(profiles))
        shared = np.full(len(profiles), math.nan)  # NaN: the horizon is the visit itself
        records: list[_Steady | None] = [None] * len(profiles)
        for u, n in enumerate(visits):
            known = profiles[u]
            if not n or known is None:
                continue
            assert known.record.answer is not None and known.number is not None
            records[u] = known.record
            code[u], number[u] = known.record.answer, known.number
            noted[u] = known.record.window
            if known.shared is not None:
                shared[u] = known.shared
            class_asked[known.number] = known.asked_number
            ask(known.asked, n)
        codes[done] = answers[cids] = code[which]
        fresh[cids] = False
        borrowed[cids] = True
        for cid, u in zip(cids.tolist(), which.tolist(), strict=True):
            steady[cid] = records[u]
        record_class[cids] = number[which]
        window[cids] = noted[which]
        last[cids] = ats
        pending[cids] = False
        horizon[cids] = _bulk_horizons(ats, shared[which], builds.horizons(cids, ats))

    # Moves out of a record of an earlier version into a class whose earlier visit was
    # answered, as :func:`visit` made them (the key: the version, the record's class, the
    # client's release, access network and store, the revocations it knows of, and what the
    # record noted), for other clients to make in bulk.
    moves: dict[tuple[Any, ...], _Move] = {}

    def moves_in_bulk(
        k: int,
        who: npt.NDArray[np.int64],
        visits: npt.NDArray[np.int64],
        bulk: npt.NDArray[np.bool_],
    ) -> tuple[npt.NDArray[np.int64], list[_Move]] | None:
        """The visits of the window from ``k`` (by ``who``; ``visits``: how many each
        client makes in it) that :func:`visit` would move as a known move: the window
        positions, and each one's move. Only a client's one visit in the window, not
        answered in bulk (``bulk``), within its record's horizon and window, by a client
        whose release runs no app pins (whose horizon reads the adoption curve)."""
        if not moves:
            return None
        positions = np.flatnonzero(~bulk)  # few, as a rule: the other tests are on these
        cids, ats = who[positions], times[k + positions]
        candidates = ~fresh[cids] & no_app[cids] & (ats < horizon[cids])
        candidates &= ats < last[cids] + window[cids]
        positions = positions[candidates]
        if not len(positions):
            return None
        positions = positions[visits[who[positions]] == 1]
        cids, ats = who[positions], times[k + positions]
        rev = revocations_known(cids, ats).tolist()
        classes_now, groups = record_class[cids].tolist(), group_of[cids].tolist()
        chosen: list[int] = []
        found: list[_Move] = []
        for i, (cid, at) in enumerate(zip(cids.tolist(), ats.tolist(), strict=True)):
            r0, r1 = rev[i]
            same = steady[cid]
            if r0 == -2 or same is None or same.version == version:
                continue
            move = moves.get(
                (
                    version,
                    classes_now[i],
                    group_keys[groups[i]],
                    () if r0 == -1 else (r0, r1),
                    same.pin_max_age,
                    same.expect_ct_noted,
                )
            )
            if move is not None and at < move.until:
                chosen.append(i)
                found.append(move)
        if len(chosen) < _FEW_MOVES:
            return None  # made one at a time for less than the arrays' fixed cost
        return positions[chosen], found

    def answer_moves(
        k: int, upto: int, positions: npt.NDArray[np.int64], found: list[_Move]
    ) -> None:
        """Make the moves :func:`moves_in_bulk` found, those before ``upto``, as
        :func:`visit` makes them one at a time: the old record's deferred notes applied,
        then the class's record borrowed, its notes deferred."""
        n = int(np.count_nonzero(k + positions < upto))  # positions are in order
        if not n:
            return
        done = k + positions[:n]
        cids, ats = ids[done], times[done]
        before = last[cids]
        for i, cid in enumerate(cids.tolist()):
            move = found[i]
            same = steady[cid]
            assert same is not None and move.number is not None
            same.settle(clients[cid], float(before[i]), bool(borrowed[cid] or pending[cid]))
            steady[cid] = move.record
            record_class[cid] = move.number
            class_asked[move.number] = move.asked_number
            ask(move.asked)
        answered = np.array([found[i].record.answer for i in range(n)], dtype=np.int64)
        codes[done] = answers[cids] = answered
        window[cids] = [found[i].record.window for i in range(n)]
        borrowed[cids] = True
        pending[cids] = False
        last[cids] = ats
        horizon[cids] = _Move.horizons(found[:n], before, ats, builds.horizons(cids, ats))

    refused_codes: dict[tuple[int, int, bool], int] = {}  # (endpoint, decision, blocked)

    def refused_again(k: int, at: SimTime, client: Client, same: _Steady) -> None:
        """A visit in the class of a record whose decision was not to accept: what follows
        the decision (a click-through draw, a report), as at every such visit."""
        ask(same.asked)
        endpoint, decision = same.endpoint, same.decision
        outcome, reason = world.conclude(client, endpoint, decision, at)
        # Its code, found by identity: the endpoint and decision fix the rest of the result.
        key = (id(endpoint), id(decision), outcome is Outcome.BLOCKED)
        code = refused_codes.get(key)
        if code is None:
            code = refused_codes[key] = code_of(
                (endpoint.operator, endpoint.legit, outcome.value, reason)
            )
        codes[k] = code

    def visit(k: int, at: SimTime, cid: int) -> tuple[tuple[Any, ...], _Move] | None:
        """One visit the bulk test did not answer: the checks and the pipeline. If it moved
        the client from a record of an earlier version into a class whose earlier visit was
        answered, the move, for others to make in bulk (:func:`moves_in_bulk`), and its key."""
        client = clients[cid]
        first = bool(fresh[cid])
        fresh[cid] = False
        same = steady[cid]
        # The record it may move from: of an earlier version, with an answer, and the visit
        # within its horizon and window, so that its tokens still hold but for the endpoint's
        # revocation counts (the module's docstring).
        moved_from = None
        if (
            same is not None
            and same.version != version
            and same.answer is not None
            and no_app[cid]
            and same.within(at)
        ):
            moved_from = same
        if same is not None and same.version != version:
            # An event changed the world. If this client is still answered by the same
            # endpoint, with the same validation, and its class now has a known decision
            # with the same answer as before (or none, as before), the record carries over.
            route = route_of(client)
            now_tokens = None
            chain = same.endpoint.chain
            carried = not same.expect_ct_noted or same.logs == id(world.known_logs)
            if carried and route[0] is same.endpoint and route[1] == same.on_path:
                validation = validator.validate(chain, client.store, host, at)
                if validation is same.validation:
                    now_tokens = same.tokens_at(
                        client, at, timed(client, at, revocations_of(same.endpoint))
                    )
            memo = None
            if now_tokens is not None:
                dkey = (
                    version,
                    id(same.endpoint),
                    same.on_path,
                    id(client.release),
                    id(same.validation),
                    now_tokens,
                )
                memo = decisions.get(dkey)
            answered = None if memo is None else _answer(same.endpoint, memo[0])
            if (
                memo is not None
                and now_tokens is not None
                and (None if answered is None else code_of(answered)) == same.answer
            ):
                same.version = version
                same.tokens = now_tokens
                same.decision, same.asked = memo
                same.bound(world, client, at, reads[cid], revocations_of(same.endpoint))
        if same is not None:
            if same.version == version and (
                same.within(at)
                or same.rebound(
                    world,
                    client,
                    at,
                    timed(client, at, revocations_of(same.endpoint)),
                    reads[cid],
                    revocations_of(same.endpoint),
                )
            ):
                if same.answer is None:
                    refused_again(k, at, client, same)
                    return None
                ask(same.asked)
                codes[k] = same.answer
                same.last = at
                same.pending = True
                return None
            same.materialise(client)
            steady[cid] = None
        endpoint, on_path = route_of(client)
        if endpoint is None:
            codes[k] = code_of(("none", False, "blocked", "unreachable"))
            return None
        validation = validator.validate(endpoint.chain, client.store, host, at)
        revoked = revocations_of(endpoint)
        now = timed(client, at, revoked)
        tokens = (*_host_state(client, host, at), *now)
        dkey = (version, id(endpoint), on_path, id(client.release), id(validation), tokens)
        memo = decisions.get(dkey)
        class_key = dkey
        record = answered_records.get(dkey)
        if memo is not None and record is not None:
            # Its headers, if accepted, are noted as a record's repeated notes are: once,
            # later, as of its last accepted visit (the class and what the notes replace fix
            # the result). Blocked, it is what the decision concludes with nothing following.
            ask(memo[1])
            if first:
                profile = (version, id(client.release), client.access, id(client.store), now)
                if profile not in first_by_profile:
                    # The release, access and store fix the route, the start state and,
                    # within the validation's bucket, the validation: the whole class.
                    first_by_profile[profile] = _Profile(
                        record,
                        memo[1],
                        validator.bucket_end(endpoint.chain, client.store, at),
                        record.shared_horizon(world, client, at, reads[cid], revoked),
                        client.store,
                    )
            template = record
            record = record.again(at)
            if not first and record.header is not None and record.pin_entry is None:
                # A header that notes no entry of its own (max-age=0, or rejected) does what
                # it does to the entry this client holds: processed now, not deferred.
                record.materialise(client)
                moved_from = None
            assert record.answer is not None
            codes[k] = record.answer
            record.bound(world, client, at, reads[cid], revoked)
            steady[cid] = record
            if moved_from is None:
                return None
            move = _Move.of(
                world, moved_from, client, at, template, memo[1], tokens, reads[cid][0], revoked
            )
            if move is None:
                return None
            key = (
                version,
                int(record_class[cid]),  # the moved-from record's class (synced after this)
                group_keys[group_of[cid]],
                now[0],
                moved_from.pin_max_age,
                moved_from.expect_ct_noted,
            )
            return key, move
        if memo is None:
            before = dict(queries)
            decision = world.decide(
                client, endpoint.chain, at, tls_scts=endpoint.tls_scts, on_path=on_path
            )
            asked = {serial: n - before.get(serial, 0) for serial, n in queries.items()}
            asked = {serial: n for serial, n in asked.items() if n}
            decisions[dkey] = (decision, asked)
        else:
            decision, asked = memo
            ask(asked)
        outcome, reason = world.conclude(client, endpoint, decision, at)
        codes[k] = code_of((endpoint.operator, endpoint.legit, outcome.value, reason))
        noted = decision.verdict == "accept"
        if noted:
            # The headers just noted may put the client's next visit in another class: its
            # decision is known if some client has been through that class already, else
            # it is made now, as that next visit would make it (:func:`ahead`).
            after = (*_host_state(client, host, at), *tokens[3:])
            if after != tokens:
                tokens = after
                dkey = (version, id(endpoint), on_path, id(client.release), id(validation), after)
                decision, asked = decisions.get(dkey) or ahead(client, endpoint, on_path, at, dkey)
        answered = _answer(endpoint, decision)
        record = _Steady.after(
            world,
            client,
            at,
            version,
            endpoint,
            on_path,
            validation,
            tokens,
            decision,
            asked,
            noted,
            None if answered is None else code_of(answered),
        )
        if record is not None:
            record.bound(world, client, at, reads[cid], revoked)
            if record.answer is not None:  # accepted, or blocked with nothing following
                answered_records.setdefault(class_key, record.again(at))
        steady[cid] = record
        return None

    first_slow = np.full(n_clients, n_visits, dtype=np.int64)
    checked = (-1, -1)  # (version, decisions known) when the classes were last checked
    span = 256  # visits in a window: short after an event, so classes carry over early
    k = 0
    while k < n_visits:
        # Scalars are read from the arrays one at a time, not from lists of every visit:
        # making those lists cost more than all the reads the loop makes.
        start = float(times[k])
        loud_ran = engine.advance(start)
        if loud_ran:
            version, revocations, app_inputs = version_now()
        if loud_ran or checked[0] != version:
            # A story may give clients new roots at any event (a store is the client's, not
            # part of the version): their records are checked again, one visit at a time.
            now_stores = list(map(_store_of, clients))
            changed = []
            if not all(map(operator.is_, now_stores, stores)):  # a pass in C, by identity
                changed = [cid for cid, old in enumerate(stores) if now_stores[cid] is not old]
            for cid in changed:
                horizon[cid] = -math.inf
                same = steady[cid]
                if same is not None and not borrowed[cid]:  # a borrowed one is copied then
                    same.horizon = -math.inf
            if changed:
                stores = now_stores
                regroup()
        if checked[0] != version:
            class_asked[:] = -1
            span = 256
        if checked != (version, len(decisions)):
            for number in np.flatnonzero(class_asked[: len(class_info)] < 0).tolist():
                check_class(number)
            checked = (version, len(decisions))
        # A window: up to the next event that may change the world, at most a day long.
        loud = engine.next_loud_due()
        stop = int(times.searchsorted(min(loud, start + DAY)))
        stop = max(min(stop, k + span), k + 1)
        span *= 2
        who = ids[k:stop]
        bulk = class_asked[record_class[who]] >= 0
        bulk &= times[k:stop] < horizon[who]
        bulk &= times[k:stop] < last[who] + window[who]
        visits = np.bincount(who, minlength=n_clients)
        answered = fresh_in_bulk(k, who, visits)
        moving = moves_in_bulk(k, who, visits, bulk)
        if answered is not None:
            bulk[answered[0]] = True  # not slow; answered apart (:func:`answer_fresh`)
        if moving is not None:
            bulk[moving[0]] = True  # likewise (:func:`answer_moves`)
        slow = np.flatnonzero(~bulk)
        early: dict[int, list[int]] = {}  # bulk visits of clients with a slow visit after
        if len(slow):
            # A slow visit may change the client's record: its later visits are slow too.
            np.minimum.at(first_slow, who[slow], slow)
            firsts = first_slow[who]
            bulk &= np.arange(stop - k) < firsts
            first_slow[who[slow]] = n_visits
            before_slow = k + np.flatnonzero(bulk & (firsts < n_visits))
            for kk, cid in zip(before_slow.tolist(), ids[before_slow].tolist(), strict=True):
                early.setdefault(cid, []).append(kk)
            slow = np.flatnonzero(~bulk)
        upto = stop
        scheduled = engine.scheduled
        next_due = engine.next_due()
        visited = k  # the visits before this one are processed
        slow_at = k + slow
        for kk, at, cid in zip(
            slow_at.tolist(), times[slow_at].tolist(), ids[slow_at].tolist(), strict=True
        ):
            if kk >= upto:
                break
            if next_due <= at:
                if engine.run_quiet_until(at):
                    break  # an event that may change the world is due first: the window ends
                next_due = engine.next_due()
            engine.advance(at)  # nothing is due: this sets the clock for what it schedules
            same = steady[cid]
            if (
                same is not None
                and same.answer is None
                and same.version == version
                and same.within(at)
            ):
                # Refused again, in the same class. Such a record is never borrowed, pending
                # or in ``early``, and its arrays already say "not in bulk".
                refused_again(kk, at, clients[cid], same)
            elif (
                class_asked[record_class[cid]] >= 0
                and at < horizon[cid]
                and at < last[cid] + window[cid]
            ):
                # The bulk test, passed since the window began: a visit in the record's class
                # found it holds at this version (it was carried over, :func:`sync`). So this
                # visit is answered as the window's bulk visits are, its record unchanged.
                # Never a client with visits in ``early``: until its first slow visit its
                # arrays are as they were when the bulk test failed for that visit (only a
                # client's own slow visit writes them within a window).
                assert cid not in early
                codes[kk] = answers[cid]
                last[cid] = at
                pending[cid] = True
                ask(asked_list[class_asked[record_class[cid]]])
            else:
                same = own(cid)
                if same is not None:
                    before = early.pop(cid, None)
                    if before is not None:
                        assert same.answer is not None
                        codes[before] = same.answer
                        same.last = float(times[before[-1]])
                        same.pending = True
                        count_asked(np.full(len(before), cid))
                        bulk[np.array(before) - k] = False
                if not fresh[cid] or not first_visit(kk, at, cid):
                    learned = visit(kk, at, cid)
                    sync(cid)
                    if learned is not None and learned[0] not in moves:
                        key, move = learned
                        move.number = int(record_class[cid])
                        move.asked_number = int(class_asked[move.number])
                        moves[key] = move
            visited = kk + 1
            if engine.scheduled != scheduled:  # the visit (a detection) may have scheduled one
                scheduled = engine.scheduled
                next_due = engine.next_due()
                due = engine.next_loud_due()
                if due < loud:
                    loud = due
                    upto = min(upto, max(kk + 1, int(times.searchsorted(loud))))
        if engine.run_quiet_until(float(times[upto - 1])):
            # An event that is not quiet is due within the window (a poll's detection, or
            # a visit's, answered at once): later visits wait for the next window, but not
            # those processed already (a visit may have scheduled it for its own time).
            upto = max(visited, int(times.searchsorted(engine.next_loud_due())))
        if answered is not None:
            bulk[answered[0]] = False
            answer_fresh(k, upto, *answered)
        if moving is not None:
            bulk[moving[0]] = False
            answer_moves(k, upto, *moving)
        done = k + np.flatnonzero(bulk[: upto - k])
        if len(done):
            who = ids[done]
            codes[done] = answers[who]
            np.maximum.at(last, who, times[done])
            pending[who] = True
            count_asked(who)
        k = upto
    # Every deferred note, applied as :func:`answer_moves` applies a mover's.
    lasts, borrowers, pendings = last.tolist(), borrowed.tolist(), pending.tolist()
    for cid, same in enumerate(steady):
        if same is not None:
            same.settle(clients[cid], lasts[cid], borrowers[cid] or pendings[cid])
    engine.run_events_until(end)
    for c, (release, access) in zip(clients, software, strict=True):
        if c.release is not release or c.access != access:
            raise ScenarioError(
                f"the story moved client {c.id} to another release or network during the run;"
                " the batched engine reads each client's once: run it with engine='reference'"
            )
    group_fields = [(release.kind, release.name, access) for release, access in group_software]
    fields = {c.id: group_fields[g] for c, g in zip(clients, in_group, strict=True)}
    return Rows(times, ids, codes, list(results), fields)


_store_of = operator.attrgetter("store")

_FEW_MOVES = 8
"""Below this many moves in a window, :func:`run` leaves them to :func:`visit`: making them
in bulk costs about as much as eight visits do, whatever their number."""


def _answer(endpoint: Endpoint, decision: Decision) -> tuple[str, bool, str, str] | None:
    """The result :meth:`World.conclude` gives ``decision`` when nothing follows it: an
    accepted connection (its headers noted), or a block with no pin failure to report.
    None for a warning (the user's click-through is drawn) or a pin failure (a report)."""
    if decision.verdict == "accept":
        outcome = Outcome.CONNECTED if endpoint.legit else Outcome.INTERCEPTED
        return endpoint.operator, endpoint.legit, outcome.value, ""
    if decision.verdict == "block" and not decision.fails_pins:
        return endpoint.operator, endpoint.legit, Outcome.BLOCKED.value, decision.reason
    return None


def _reads(world: World, release: Any, kind: str) -> _Reads:
    """For one release: whether ``decide`` checks revocation; the build timeliness windows in
    seconds it compares the build's age with, for the CT log list, the static pins and the
    HSTS preload list (None: not read; inf: never stale); and whether it runs the app's
    bundled pins."""
    s = world.s
    revocation = release.revocation != "none"

    def span(days: int) -> float:
        return days * DAY if days > 0 else math.inf

    ct_timely = span(release.ct_timely_days) if release.ct_policy is not None else None
    preload = None
    if s.preload and release.static_pins and kind == "browser":
        preload = span(release.static_pins_timely_days)
    hsts_preload = None  # read where the host is on the list (:meth:`World._client`)
    if s.hsts_preload and release.hsts and release.hsts_preload and kind == "browser":
        hsts_preload = span(release.hsts_preload_timely_days)
    spans = (ct_timely, preload, hsts_preload)
    app = kind == "app" and s.app_pins and release.static_pins
    return revocation, spans if any(x is not None for x in spans) else (), app


def _build_horizon(world: World, client: Client, at: SimTime, reads: _Reads) -> SimTime:
    """Before this, whether the client's build is timely stays as at ``at`` (a second
    short of each boundary): all ``decide`` reads of the build.

    An auto-updating browser's build is never older than the release period, so a span at
    least a second longer keeps it timely forever, and a new build only matters if it makes
    a stale build timely again."""
    spans = [span for span in reads[1] if span is not None]
    build = world.build_of(client, at) if spans else None
    if build is None:
        return math.inf
    age = at - build  # the build stays timely for ``span`` seconds
    horizon = math.inf
    if client.auto_update:
        period = world.s.browser_release_days * DAY
        if any(age >= span for span in spans):
            horizon = build + period - 1.0
        spans = [span for span in spans if span - 1.0 < period]
    for span in spans:
        if age < span:
            horizon = min(horizon, build + span - 1.0)
    return horizon


def _own_horizon(world: World, client: Client, at: SimTime, reads: _Reads) -> SimTime:
    """Before this, the time-dependent inputs that are the client's own compare as at
    ``at``: its build's (:func:`_build_horizon`), and the app release it runs and whether
    that release's pins have expired (``timed``'s app key). The last two also depend on the
    world's app releases and adoption curve (:func:`_app_inputs`): a record is not carried
    past a change of those without working this out again."""
    horizon = _build_horizon(world, client, at, reads)
    if reads[2]:
        adoption, releases, threshold = world.adoption, world.releases, client.app_threshold
        horizon = min(horizon, adoption.release_holds_until(threshold, releases, at))
        pins = adoption.release_for(threshold, releases, at).pins
        if pins is not None and pins.expiration is not None and at < pins.expiration:
            horizon = min(horizon, pins.expiration)
    return horizon


@dataclass
class _Builds:
    """Each client's browser build and the build-time lists ``decide`` reads, as arrays: the
    rules of :meth:`World.build_of`, ``timed`` and :func:`_build_horizon`, for many visits
    at once (first visits answered in bulk). NaN: no build, or a list that is not read.
    What the rules derive from a client's lists alone is derived once, when it is made."""

    first: npt.NDArray[np.float64]  # the build installed at time 0 (``Client.build_date``)
    auto: npt.NDArray[np.bool_]
    period: float  # seconds between releases
    spans: npt.NDArray[np.float64]  # :func:`_reads`' windows, a column per list, per client
    reads_none: npt.NDArray[np.bool_] = field(init=False)  # no list is read
    # Whether running out bounds the horizon: always on a build that does not update, else
    # only for a window shorter than the release period plus a second (:func:`_build_horizon`).
    ends: npt.NDArray[np.bool_] = field(init=False)

    def __post_init__(self) -> None:
        self.reads_none = np.asarray(np.isnan(self.spans).all(axis=1))
        with np.errstate(invalid="ignore"):
            self.ends = ~self.auto[:, None] | (self.spans - 1.0 < self.period)

    @classmethod
    def of(cls, world: World, reads: list[_Reads], group_of: npt.NDArray[np.int64]) -> _Builds:
        """From the clients, and what each group of them reads (``reads[group_of[cid]]``)."""
        clients = world.clients
        unread = (None, None, None)
        spans = [[math.nan if s is None else s for s in r[1] or unread] for r in reads]
        return cls(
            np.array([math.nan if c.build_date is None else c.build_date for c in clients]),
            np.array([c.auto_update for c in clients], dtype=bool),
            world.s.browser_release_days * DAY,
            np.array(spans, dtype=np.float64).reshape(len(reads), 3)[group_of],
        )

    def at(
        self, cids: npt.NDArray[np.int64], at: npt.NDArray[np.float64]
    ) -> npt.NDArray[np.float64]:
        """:meth:`World.build_of`, with the same arithmetic: numpy's floor division of
        doubles is CPython's (``npy_divmod`` follows ``float_divmod``)."""
        first = self.first[cids]
        moved = first + np.floor_divide(at - first, self.period) * self.period
        return np.where(self.auto[cids], moved, first)

    def timely(
        self, cids: npt.NDArray[np.int64], at: npt.NDArray[np.float64]
    ) -> npt.NDArray[np.int64]:
        """The ``timely`` part of ``timed``, a column per list: whether the build's list is
        timely (1 or 0; 1 where it is not read), or -1 in every column where none is read."""
        build = self.at(cids, at)
        age = (at - build)[:, None]
        spans = self.spans[cids]
        with np.errstate(invalid="ignore"):
            codes = (np.isnan(spans) | np.isnan(build)[:, None] | (age < spans)).astype(np.int64)
        codes[self.reads_none[cids]] = -1
        return codes

    def horizons(
        self, cids: npt.NDArray[np.int64], at: npt.NDArray[np.float64]
    ) -> npt.NDArray[np.float64]:
        """:func:`_build_horizon`, by the same rules."""
        build = self.at(cids, at)
        age = (at - build)[:, None]
        spans, ends = self.spans[cids], self.ends[cids]
        with np.errstate(invalid="ignore"):
            outlived = (age >= spans).any(axis=1)
            horizon = np.where(self.auto[cids] & outlived, build + self.period - 1.0, math.inf)
            bound = np.where(ends & (age < spans), build[:, None] + spans - 1.0, math.inf)
            horizon = np.minimum(horizon, bound.min(axis=1))
        return np.where(np.isnan(build), math.inf, horizon)


def _bulk_horizons(
    ats: npt.NDArray[np.float64],
    shared: npt.NDArray[np.float64],
    *bounds: npt.NDArray[np.float64],
) -> npt.NDArray[np.float64]:
    """Records' horizons made in bulk, as :meth:`_Steady.bound` makes them: the visit itself
    where the class gives none (``shared`` NaN), else the earliest of ``shared`` and the
    clients' own ``bounds``."""
    return np.where(np.isnan(shared), ats, np.minimum.reduce([shared, *bounds]))


@functools.lru_cache(maxsize=256)
def _max_age(header: str, profile: str) -> int | None:
    """A ``Public-Key-Pins`` header's max-age, as ``profile`` parses it (a run serves a
    handful of headers, noted thousands of times)."""
    return hpkp.parse(header, profile=profile).max_age


@dataclass(slots=True)
class _Profile:
    """A first visit's class, found from what fixes it (``first_by_profile`` in :func:`run`):
    the record an answered first visit left, for other clients' first visits to copy."""

    record: _Steady  # notes deferred, the noted entries' window kept
    asked: dict[int, int]  # the OCSP queries its decision made
    until: SimTime  # when the validation's bucket ends
    shared: SimTime | None  # the horizon but for the client's build (None: the visit itself)
    store: TrustStore  # held, so that its id in the profile names no other store
    number: int | None = None  # the record's class, once a client's record has been synced
    asked_number: int = 0  # and the number of its OCSP queries


@dataclass(slots=True)
class _Move:
    """A client's move out of a record of an earlier version into a class whose earlier
    visit was answered (:func:`visit`'s copy path), for others to make in bulk.

    Within the old record's horizon and window, the client's tokens are the old class's but
    for the revocations the new endpoint's chain has (the move's key), so the new class is
    the same for every client of the same release, access network and store, while the
    validation's bucket lasts. So is the new record's horizon (:meth:`_Steady.bound`), but
    for the client's build and the entries the old record noted and the new one does not
    refresh: they expire a fixed time after the old record's last visit."""

    record: _Steady  # the class's answered record (notes deferred), borrowed by each mover
    asked: dict[int, int]  # the OCSP queries its decision made
    until: SimTime  # when the validation's bucket ends
    shared: SimTime | None  # the horizon from the class (None: the visit itself)
    pin_age: float | None  # the old record's pin entry, left to expire: its max-age
    expect_ct_age: float | None  # likewise its Expect-CT entry
    store: TrustStore  # held, so that its id in the key names no other store
    number: int | None = None  # the new record's class, once the mover's record is synced
    asked_number: int = 0  # and the number of its OCSP queries

    @classmethod
    def of(
        cls,
        world: World,
        old: _Steady,
        client: Client,
        at: SimTime,
        record: _Steady,
        asked: dict[int, int],
        tokens: tuple[Any, ...],
        revocation: bool,
        revoked: tuple[SimTime, ...],
    ) -> _Move | None:
        """The move a client made at ``at`` from ``old`` into ``record``'s class (``tokens``
        the new class's); None if a mover's horizon would read more than the arrays hold."""
        if tokens[:3] != old.tokens[:3] or tokens[4:] != old.tokens[4:]:
            return None  # not the old class's tokens: the move's key would not fix the class
        pin_age = expect_ct_age = None
        if client.kph is not None and record.pin_max_age is None and old.tokens[0] is not None:
            if old.pin_max_age is None:
                return None  # an entry the old record did not note: its expiry is the client's
            pin_age = float(old.pin_max_age)
        if not record.expect_ct_noted and old.tokens[2]:
            if not old.expect_ct_noted:
                return None
            expect_ct_age = float(EXPECT_CT_MAX_AGE)
        shared: SimTime | None = None
        if (
            client.hsts is None
            or record.hsts_noted
            or not old.tokens[1]  # as :meth:`_Steady.shared_horizon` reads it
        ):
            shared = record.class_horizon(world, client.store, at, revocation, revoked)
        until = world.validator.bucket_end(record.endpoint.chain, client.store, at)
        return cls(record, asked, until, shared, pin_age, expect_ct_age, client.store)

    @staticmethod
    def horizons(
        moves: list[_Move],
        before: npt.NDArray[np.float64],
        ats: npt.NDArray[np.float64],
        own: npt.NDArray[np.float64],
    ) -> npt.NDArray[np.float64]:
        """The horizon :meth:`_Steady.bound` gives each mover's new record: moving at
        ``ats``, from a record whose last accepted visit was at ``before``, with its own
        horizon (:func:`_own_horizon`) ``own``."""
        shared = np.array([math.nan if m.shared is None else m.shared for m in moves])
        pins = np.array([math.inf if m.pin_age is None else m.pin_age for m in moves])
        expect_ct = np.array(
            [math.inf if m.expect_ct_age is None else m.expect_ct_age for m in moves]
        )
        return _bulk_horizons(ats, shared, before + pins, before + expect_ct, own)


@dataclass(slots=True)
class _Steady:
    """A client's last full visit, and what lets its next visits skip the pipeline.

    Its next visit is in the same class if the world's version is the same, path validation
    gives the same result, the time-dependent inputs compare the same, and the client's
    header state still gives the same tokens. After an accepted visit, that state is what the
    headers just noted, and each further accepted visit of the same class notes the same
    headers again, which only moves their expiry (a valid HPKP header always leads to the
    noted state, RFC 7469 section 2.5; HSTS and Expect-CT entries are overwritten). So those
    notes are deferred: the last one is applied by :meth:`materialise`, before the client's
    next full visit or at the end, and expiry is computed meanwhile from its time.
    """

    host: str
    version: int
    endpoint: Endpoint
    on_path: bool
    validation: Validation
    tokens: tuple[Any, ...]  # the class: (entry, known_hsts, expect_ct, rev, timely, app)
    decision: Decision
    asked: dict[int, int]
    # The outcome code of each visit in the class when nothing follows the decision (see
    # :func:`_answer`): accepted, its notes deferred, or blocked with no pin failure to
    # report; None when a click-through draw or a report follows, at every visit.
    answer: int | None
    header: str | None  # the HPKP header each accepted visit processes again
    pin_max_age: int | None  # if that header is noted: its max-age; else None
    pin_entry: tuple[Any, ...] | None  # and the entry it notes, as a token
    hsts_noted: bool
    expect_ct_noted: bool
    last: SimTime
    logs: int  # the trusted CT logs (by identity) when the Expect-CT note was seen
    pending: bool = False
    horizon: SimTime = -math.inf  # before it, the time-dependent inputs surely compare alike
    window: SimTime = math.inf  # and while within this of ``last``, the noted entries live

    @classmethod
    def after(
        cls,
        world: World,
        client: Client,
        at: SimTime,
        version: int,
        endpoint: Endpoint,
        on_path: bool,
        validation: Validation,
        tokens: tuple[Any, ...],
        decision: Decision,
        asked: dict[int, int],
        noted: bool,
        answer: int | None,
    ) -> _Steady | None:
        """The record after a full visit at ``at`` for the class of the client's next
        visit (``tokens``, ``decision``); ``noted`` if the visit was accepted and its headers
        noted, ``answer`` the outcome code of the next visits if nothing follows it (their
        notes are then deferred). None if what was noted cannot be stated exactly."""
        host = world.host
        header = None
        pin_max_age = None
        pin_entry = None
        hsts_noted = expect_ct_noted = False
        if noted:
            kph = client.kph
            if kph is not None and endpoint.pkp_header is not None:
                header = endpoint.pkp_header
                fresh = kph.lookup(host, at)
                if fresh is not None and fresh.noted_at == at:
                    try:
                        max_age = _max_age(header, kph.profile.name)
                    except hpkp.HeaderError:
                        return None
                    if max_age is None or fresh.host != host or at + max_age != fresh.expires_at:
                        return None
                    pin_max_age = max_age
                    pin_entry = (fresh.host, fresh.pins, fresh.include_subdomains, fresh.report_uri)
            hsts_noted = endpoint.hsts and client.hsts is not None
            expect_ct_noted = client.expect_ct.get(host) == at + EXPECT_CT_MAX_AGE
        return cls(
            host,
            version,
            endpoint,
            on_path,
            validation,
            tokens,
            decision,
            asked,
            answer,
            header,
            pin_max_age,
            pin_entry,
            hsts_noted,
            expect_ct_noted,
            at,
            id(world.known_logs),
        )

    def again(self, at: SimTime) -> _Steady:
        """This record as another client in the same class would hold it after an answered
        visit at ``at`` (the module's docstring says when that is so), its notes deferred
        (see :meth:`materialise`); the noted entries live as long (``window``), the horizon
        is the caller's."""
        return _Steady(
            self.host,
            self.version,
            self.endpoint,
            self.on_path,
            self.validation,
            self.tokens,
            self.decision,
            self.asked,
            self.answer,
            self.header,
            self.pin_max_age,
            self.pin_entry,
            self.hsts_noted,
            self.expect_ct_noted,
            at,
            self.logs,
            pending=True,
            window=self.window,
        )

    def rebound(
        self,
        world: World,
        client: Client,
        at: SimTime,
        timed: tuple[Any, ...],
        reads: _Reads,
        revocations: tuple[SimTime, ...],
    ) -> bool:
        """The exact check (:meth:`holds`), and if it passes, a new horizon from ``at``."""
        if not self.holds(client, at, timed, world.validator):
            return False
        self.bound(world, client, at, reads, revocations)
        return True

    def bound(
        self,
        world: World,
        client: Client,
        at: SimTime,
        reads: _Reads,
        revocations: tuple[SimTime, ...],
    ) -> None:
        """Set ``horizon`` and ``window``: a visit before ``horizon`` and within ``window``
        of the last noting visit is in this class without checking, as :meth:`holds` would
        find. Conservative (a second short of a build boundary); near one, or where an
        input's change time is not known, the horizon is ``at`` and :meth:`holds` decides."""
        self.window = self.noted_window(client)
        shared = self.shared_horizon(world, client, at, reads, revocations)
        if shared is not None:
            shared = min(shared, _own_horizon(world, client, at, reads))
        self.horizon = at if shared is None else shared

    def noted_window(self, client: Client) -> SimTime:
        """How long after the last noting visit the noted entries live."""
        window = math.inf
        if self.pin_max_age is not None:
            window = min(window, self.pin_max_age)
        if self.hsts_noted and client.hsts is not None:
            window = min(window, HSTS_HEADER.max_age)
        if self.expect_ct_noted:
            window = min(window, EXPECT_CT_MAX_AGE)
        return window

    def shared_horizon(
        self,
        world: World,
        client: Client,
        at: SimTime,
        reads: _Reads,
        revocations: tuple[SimTime, ...],
    ) -> SimTime | None:
        """The horizon but for the client's own build and app release
        (:func:`_own_horizon`); None if it is ``at``. Clients in the same start state and
        class share it while the validation's bucket and the revocation counts are the same."""
        host = self.host
        hsts = client.hsts
        if hsts is not None and not self.hsts_noted and hsts.known(host, at, preload=False):
            return None  # known from an entry this class does not refresh: expiry unread
        horizon = self.class_horizon(world, client.store, at, reads[0], revocations)
        kph = client.kph
        if kph is not None and self.pin_max_age is None:
            found = kph.lookup(host, at)
            if found is not None:
                horizon = min(horizon, found.expires_at)
        if not self.expect_ct_noted:
            expires = client.expect_ct.get(host)
            if expires is not None and at < expires:
                horizon = min(horizon, expires)
        return horizon

    def class_horizon(
        self,
        world: World,
        store: TrustStore,
        at: SimTime,
        revocation: bool,
        revocations: tuple[SimTime, ...],
    ) -> SimTime:
        """The part of :meth:`shared_horizon` that reads no client state: the validation's
        bucket, and each revocation the client's release checks (its counts at ``at`` fix
        which of them are still ahead)."""
        horizon = world.validator.bucket_end(self.endpoint.chain, store, at)
        if revocation:
            delay = world.s.revocation_push_days * DAY
            for r in revocations:
                if at < r:
                    horizon = min(horizon, r)  # the OCSP answer changes at r exactly
                if at - delay < r:
                    horizon = min(horizon, r + delay - 1.0)  # the pushed list, near r + delay
        return horizon

    def within(self, at: SimTime) -> bool:
        """Whether a visit at ``at`` is before the horizon and within ``window`` of the last
        noting visit: then, at the record's version, it is in the record's class unchecked."""
        return at < self.horizon and at < self.last + self.window

    def holds(
        self, client: Client, at: SimTime, timed: tuple[Any, ...], validator: Validator
    ) -> bool:
        """Whether a visit at ``at`` is in this record's class."""
        if (
            validator.validate(self.endpoint.chain, client.store, self.host, at)
            is not self.validation
        ):
            return False
        return self.tokens_at(client, at, timed) == self.tokens

    def tokens_at(
        self, client: Client, at: SimTime, timed: tuple[Any, ...]
    ) -> tuple[Any, ...] | None:
        """The class tokens of a visit at ``at``, from the client's state as the deferred
        notes leave it; None if an entry those notes refresh has expired by then."""
        host = self.host
        last = self.last
        kph = client.kph
        entry: tuple[Any, ...] | None = None
        if kph is not None:
            if self.pin_max_age is not None:
                if not at < last + self.pin_max_age:
                    return None  # expired: what governs now needs a real lookup
                entry = self.pin_entry
            else:
                found = kph.lookup(host, at)
                if found is not None:
                    entry = (found.host, found.pins, found.include_subdomains, found.report_uri)
        hsts = client.hsts
        if hsts is None:
            known_hsts = False
        elif self.hsts_noted:
            known_hsts = at < last + HSTS_HEADER.max_age
        else:
            known_hsts = hsts.known(host, at, preload=False)
        if self.expect_ct_noted:
            expect_ct = at < last + EXPECT_CT_MAX_AGE
        else:
            expires = client.expect_ct.get(host)
            expect_ct = expires is not None and at < expires
        return (entry, known_hsts, expect_ct, *timed)

    def settle(self, client: Client, last: SimTime, in_arrays: bool) -> None:
        """Apply the client's deferred notes, as of its last accepted visit: ``last``, kept
        in the arrays, if ``in_arrays`` (the record is borrowed, or had bulk visits since;
        a borrowed record's own flags are the template's and stay as they are), else the
        record's own (:meth:`materialise`)."""
        if in_arrays:
            self.note(client, last)
        else:
            self.materialise(client)

    def materialise(self, client: Client) -> None:
        """Apply the deferred notes: the headers as the last accepted visit noted them."""
        if self.pending:
            self.pending = False
            self.note(client, self.last)

    def note(self, client: Client, at: SimTime) -> None:
        """Note the headers of this record's class as an accepted visit at ``at`` does."""
        host, validation = self.host, self.validation
        if self.pin_entry is not None and client.kph is not None:
            assert self.pin_max_age is not None  # set with pin_entry (:meth:`after`)
            # The entry the header noted at the record's full visit, noted again at ``at``.
            _, pins, include_subdomains, report_uri = self.pin_entry
            entry = hpkp.PinEntry(
                host, pins, at, at + self.pin_max_age, include_subdomains, report_uri
            )
            client.kph.renote(entry)
        elif self.header is not None and client.kph is not None:
            client.kph.process_header(
                host,
                self.header,
                at=at,
                validated_pins=validation.pins,
                anchor_origin=validation.anchor_origin,
            )
        if self.hsts_noted and client.hsts is not None:
            client.hsts.note(host, HSTS_HEADER, at)
        if self.expect_ct_noted:
            client.expect_ct[host] = at + EXPECT_CT_MAX_AGE


def _host_state(client: Client, host: str, at: SimTime) -> tuple[object, bool, bool]:
    """What the client holds for the host that decides a connection: its HPKP entry (as a
    value), whether it knows the host as HSTS from a noted header, and whether an Expect-CT
    entry is live."""
    entry = None
    if client.kph is not None:
        found = client.kph.lookup(host, at)
        if found is not None:
            entry = (found.host, found.pins, found.include_subdomains, found.report_uri)
    # Noted entries only: the preload list counts as the build's timeliness says (``timed``).
    known_hsts = client.hsts is not None and client.hsts.known(host, at, preload=False)
    expires = client.expect_ct.get(host)
    return entry, known_hsts, expires is not None and at < expires
