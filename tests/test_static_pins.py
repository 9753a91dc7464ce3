from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simlab.clock import DAY
from simlab.keys import derive_key
from simlab.pins import PinVerdict
from simlab.pki import AnchorOrigin, spki_pin
from simlab.static_pins import (
    AppPinConfig,
    AppRelease,
    PinConfigError,
    PreloadList,
    UpdateAdoption,
)

A = spki_pin(derive_key(0, "a").public_key())
B = spki_pin(derive_key(0, "b").public_key())
C = spki_pin(derive_key(0, "c").public_key())
PUBLIC, USER = AnchorOrigin.PUBLIC, AnchorOrigin.USER

CHROME_STYLE = {
    "pinsets": [{"name": "google", "static_spki_hashes": [f"sha256/{A}", f"sha256/{B}"]}],
    "entries": [
        {"name": "google.com", "include_subdomains": True, "pins": "google"},
        {"name": "hsts-only.example", "mode": "force-https"},
    ],
}


def test_preload_list_reads_and_writes_chrome_json_shape() -> None:
    preload = PreloadList.from_json(CHROME_STYLE, build_date=0)
    assert preload.pinsets["google"] == {A, B}
    assert PreloadList.from_json(preload.to_json()) == preload
    assert preload.lookup("mail.google.com") is not None
    assert preload.lookup("hsts-only.example") is None


def test_preload_pins_block_a_rogue_chain_for_subdomains() -> None:
    preload = PreloadList.from_json(CHROME_STYLE)
    check = preload.check("mail.google.com", {C}, at=DAY, anchor_origin=PUBLIC)
    assert check.blocks and check.noted_host == "google.com"
    assert preload.check("mail.google.com", {C, B}, at=DAY, anchor_origin=PUBLIC).verdict is (
        PinVerdict.MATCH
    )
    assert preload.check("example.org", {C}, at=DAY, anchor_origin=PUBLIC).verdict is (
        PinVerdict.NOT_PINNED
    )


def test_preload_pins_fail_open_when_the_build_is_70_days_old() -> None:
    preload = PreloadList.from_json(CHROME_STYLE, build_date=10 * DAY)
    last_timely = 80 * DAY - 1
    assert preload.check("google.com", {C}, at=last_timely, anchor_origin=PUBLIC).blocks
    stale = preload.check("google.com", {C}, at=80 * DAY, anchor_origin=PUBLIC)
    assert stale.verdict is PinVerdict.FAILED_OPEN and not stale.blocks


def test_preload_pins_are_bypassed_for_a_user_installed_root() -> None:
    preload = PreloadList.from_json(CHROME_STYLE)
    assert preload.check("google.com", {C}, at=0, anchor_origin=USER).verdict is (
        PinVerdict.BYPASSED_LOCAL_ROOT
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"pinsets": []}, "missing or malformed field 'entries'"),
        (
            {"pinsets": [{"name": "x", "static_spki_hashes": ["sha256/nope"]}], "entries": []},
            "pinset 'x': 'nope' is not base64",
        ),
        (
            {"pinsets": [], "entries": [{"name": "a.com", "pins": "ghost"}]},
            "unknown pinset 'ghost'",
        ),
    ],
)
def test_bad_preload_lists_name_the_problem(data: dict[str, object], message: str) -> None:
    with pytest.raises(PinConfigError, match=message):
        PreloadList.from_json(data)


def test_enforcing_app_needs_two_pins_report_only_does_not() -> None:
    with pytest.raises(PinConfigError, match="at least 2 pins.*got 1"):
        AppPinConfig("api.example.com", frozenset({A}))
    config = AppPinConfig("api.example.com", frozenset({A}), enforce=False)
    check = config.check("api.example.com", {C}, at=0, anchor_origin=PUBLIC)
    assert check.verdict is PinVerdict.REPORT_ONLY_MISMATCH and not check.blocks


def test_app_pins_enforce_even_for_user_roots_unless_overridden() -> None:
    config = AppPinConfig("api.example.com", frozenset({A, B}))
    assert config.check("api.example.com", {C}, at=0, anchor_origin=USER).blocks
    debug = AppPinConfig("api.example.com", frozenset({A, B}), override_for_user_roots=True)
    assert debug.check("api.example.com", {C}, at=0, anchor_origin=USER).verdict is (
        PinVerdict.BYPASSED_LOCAL_ROOT
    )


def test_app_pins_fail_open_after_expiration_to_the_second() -> None:
    config = AppPinConfig("api.example.com", frozenset({A, B}), expiration=30 * DAY)
    assert config.check("api.example.com", {C}, at=30 * DAY - 1, anchor_origin=PUBLIC).blocks
    after = config.check("api.example.com", {C}, at=30 * DAY, anchor_origin=PUBLIC)
    assert after.verdict is PinVerdict.FAILED_OPEN


def test_app_pins_cover_subdomains_only_when_configured() -> None:
    exact = AppPinConfig("example.com", frozenset({A, B}))
    assert exact.check("api.example.com", {C}, at=0, anchor_origin=PUBLIC).verdict is (
        PinVerdict.NOT_PINNED
    )
    wide = AppPinConfig("example.com", frozenset({A, B}), include_subdomains=True)
    assert wide.check("api.example.com", {C}, at=0, anchor_origin=PUBLIC).blocks


def test_update_adoption_moves_users_to_a_new_release_over_time() -> None:
    old = AppRelease("1.0", 0, AppPinConfig("api.example.com", frozenset({A, B})))
    new = AppRelease("1.1", 10 * DAY, AppPinConfig("api.example.com", frozenset({C, B})))
    adoption = UpdateAdoption(mean_days=7, delay_days=1)
    thresholds = [i / 100 for i in range(100)]

    def share_on_new(at: float) -> float:
        return sum(adoption.release_for(t, [old, new], at) is new for t in thresholds) / 100

    assert share_on_new(9 * DAY) == 0
    assert share_on_new(11 * DAY) == 0  # still in review / staged rollout
    assert 0.5 < share_on_new(18 * DAY) < 0.8  # 1 - exp(-1) ~ 0.63 one mean after the delay
    assert share_on_new(60 * DAY) > 0.99
    assert adoption.fraction(0) == 0.0


@settings(max_examples=300, deadline=None)
@given(
    threshold=st.floats(0, 1, exclude_max=True),
    mean_days=st.floats(0.01, 60),
    delay_days=st.floats(0, 10),
    ships=st.lists(st.floats(0, 90 * DAY), min_size=1, max_size=4),
    at=st.floats(0, 120 * DAY),
    later=st.lists(st.floats(0, 1), min_size=1, max_size=8),
)
def test_release_holds_until_bounds_when_a_user_changes_release(
    threshold: float,
    mean_days: float,
    delay_days: float,
    ships: list[float],
    at: float,
    later: list[float],
) -> None:
    """Until ``release_holds_until``, the user runs what they run at ``at``; and the bound is
    tight: a second after it (when it is later than ``at``), some later release has passed
    the threshold (unless the bound is a release's ship date, for a crossing too close to
    it to state, or the threshold so near 1 that 1 - exp(-t) rounds up to it late)."""
    adoption = UpdateAdoption(mean_days=mean_days, delay_days=delay_days)
    releases = [AppRelease(f"1.{i}", t, None) for i, t in enumerate([0.0, *ships])]
    running = adoption.release_for(threshold, releases, at)
    until = adoption.release_holds_until(threshold, releases, at)
    for share in later:
        t = at + share * (min(until, at + 200 * DAY) - at)
        if t < until:
            assert adoption.release_for(threshold, releases, t) is running
    stated = until not in {r.released_at for r in releases}
    if at < until < math.inf and stated and threshold < 0.999:
        assert adoption.release_for(threshold, releases, until + 2.0) is not running
