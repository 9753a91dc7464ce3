"""The seven attack stories. Each is a generator over a :class:`~simlab.world.World`.

A story only *acts* (the attacker takes a position, the owner re-keys, a registrar is
taken over); what clients then see comes out of the decision pipeline. Nothing here
writes an outcome.
"""

from __future__ import annotations

from collections.abc import Callable

from simlab.clock import DAY, HOUR, SimTime
from simlab.engine import Story
from simlab.keys import derive_key
from simlab.pki import CertificateAuthority, Chain, TrustStore, self_signed, spki_pin
from simlab.world import Endpoint, World

__all__ = ["STORIES"]


def _attacker_key(world: World, label: str = "attacker"):  # type: ignore[no-untyped-def]
    return derive_key(world.seed, f"{label}:{world.host}")


def _end_attack(world: World) -> None:
    world.attacker_position = None
    world.attack_end = world.engine.now
    world.events.append((world.engine.now, "attack ends"))


def _on_path(world: World, attacker: Endpoint, what: str) -> Story:
    """Hold the on-path position with ``attacker`` for the attack window, then leave."""
    world.attacker = attacker
    world.attacker_position = world.s.attacker_network
    world.events.append((world.engine.now, what))
    yield world.s.attack_days * DAY
    _end_attack(world)


def mitm(world: World) -> Story:
    """An on-path attacker (a hostile Wi-Fi or ISP) serves a certificate no public CA signed."""
    yield world.attack_start
    key = _attacker_key(world)
    cert = self_signed(
        world.host,
        key,
        ca=False,
        names=[world.host, f"*.{world.host}"],
        not_before=world.attack_start - DAY,
        epoch=world.epoch,
    )
    attacker = Endpoint("attacker", Chain((cert,)), key, legit=False)
    yield from _on_path(world, attacker, "attacker goes on-path with a self-signed certificate")


def mitm_local_root(world: World) -> Story:
    """The same on-path attacker, whose root the victims (or their employer) installed."""
    s = world.s
    proxy = CertificateAuthority.root("Inspection Proxy CA", seed=world.seed, epoch=world.epoch)
    # Stores are immutable: clients whose stores held the same anchors share the new one.
    installed: dict[tuple[tuple[bytes, str], ...], TrustStore] = {}
    for client in world.clients:
        # Apps targeting Android 7+ ignore user-installed roots (clients.toml: user_roots).
        if client.access == s.attacker_network and client.release.user_roots:
            store = installed.get(client.store.key)
            if store is None:
                store = installed[client.store.key] = client.store.with_user_root(proxy.certificate)
            client.store = store
    yield world.attack_start
    key = _attacker_key(world)
    chain = proxy.compromise().issue(
        [world.host, f"*.{world.host}"], key.public_key(), at=world.attack_start, requester="proxy"
    )
    attacker = Endpoint("attacker", chain, key, legit=False)
    yield from _on_path(world, attacker, "proxy intercepts with its user-installed root")


def ca_compromise(world: World) -> Story:
    """An attacker with a trusted CA's key (DigiNotar 2011) intercepts on-path clients.

    A rational attacker logs its rogue certificate exactly when the era's clients would
    otherwise warn or refuse (:meth:`World.clients_check_ct`): logging makes it visible to
    monitors, not logging makes it fail CT checks. ``rogue_logged`` forces either choice.
    """
    s = world.s
    yield world.attack_start
    key = _attacker_key(world)
    logged = world.clients_check_ct() if s.rogue_logged is None else s.rogue_logged
    rogue = world.issue(
        world.other_ca,
        "attacker",
        key,
        world.attack_start,
        logs=len(world.logs) if logged else 0,
        validated=False,
    )
    if logged:
        now = world.engine.now
        world.events.append((now, f"precertificate logged: {len(world.logs)} SCTs embedded"))
        merged = now + s.merge_delay_hours * HOUR
        world.events.append((merged, "logs merge it: monitors can see it"))
    world.on_detect.append(
        lambda at: _revoke(world, world.other_ca, rogue, at, "the compromised CA")
    )
    if not s.rogue_used:
        world.events.append((world.engine.now, "misissued certificate exists; nobody serves it"))
        return
    attacker = Endpoint("attacker", rogue, key, legit=False)
    yield from _on_path(world, attacker, "rogue certificate from a compromised public CA in use")


def _revoke(world: World, ca: CertificateAuthority, chain: Chain, at: SimTime, role: str) -> None:
    """Revoke ``chain``'s leaf; the event names the CA by its role in the story, then by its
    name (a reader of a timeline does not know which CA "Other Issuing CA" is)."""
    ca.revoke(chain.leaf.serial_number, at=at)
    world.events.append((at, f"{role} ({ca.name}) revokes the certificate"))


def key_loss(world: World) -> Story:
    """The server's key is replaced by one its pins do not name: destroyed (the owner must
    re-key), or, with ``old_key_kept``, rolled over by mistake, as Smashing Magazine did in
    October 2016; then, when the lock-out is noticed, the owner goes back to a certificate
    for the old, pinned key."""
    yield world.attack_start
    now = world.engine.now
    old_key = world.owner_key
    if world.s.old_key_kept:
        world.events.append((now, "server rolls to a new key its pins do not name"))

        def go_back(at: SimTime) -> None:
            # Pin the old key and the rolled-to one, so visitors of either period get in.
            world.backup_key = world.owner_key
            world.owner_key = old_key
            world.owner = world.owner_endpoint(old_key, at)
            world.serving["dc-owner"] = world.owner
            world.events.append((at, "owner returns to a certificate for the pinned key"))

        world.on_detect.append(go_back)
    else:
        world.events.append((now, "server key lost"))
    world.rekey(now, use_backup=world.s.backup_key_survives)


def key_theft(world: World) -> Story:
    """An attacker holds the server's current key and serves the genuine chain on-path."""
    s = world.s
    yield world.attack_start
    stolen = world.owner
    world.attacker = Endpoint("attacker", stolen.chain, stolen.key, legit=False)
    world.attacker_position = s.attacker_network
    world.events.append((world.engine.now, "stolen key and genuine certificate in use on-path"))
    if s.attack_days < s.theft_noticed_days:  # the thief leaves before anyone notices
        yield s.attack_days * DAY
        _end_attack(world)
        yield (s.theft_noticed_days - s.attack_days) * DAY
    else:
        yield s.theft_noticed_days * DAY
    world.events.append((world.engine.now, "owner notices the theft"))
    # Noticing is the detection: nothing a client or log sees tells the owner of a stolen key
    # serving the genuine certificate (the metric said "never" while the owner acted on it).
    world.detect(world.engine.now, "owner_notices")
    _revoke(world, world.issuing, stolen.chain, world.engine.now, "the site's own CA")
    world.rekey(world.engine.now, use_backup=True)
    if world.attack_end is None:  # still on-path, with the revoked certificate
        remaining = s.attack_days - s.theft_noticed_days
        if remaining > 0:
            yield remaining * DAY
        _end_attack(world)


def _self_pinning_attacker(world: World, *, pins: bool) -> Endpoint:
    """The attacker's DV certificate from another public CA and, if ``pins``, an HPKP header
    pinning only keys it holds (its key and its own backup)."""
    key = _attacker_key(world)
    backup = _attacker_key(world, "attacker-backup")
    # DV passes; the CA logs it as it logs every certificate in the era (or not).
    chain = world.issue(
        world.other_ca, "attacker", key, world.engine.now, logs=world.owner_sct_count
    )
    header = None
    if pins:
        header = world.pkp_header({spki_pin(key.public_key()), spki_pin(backup.public_key())})
    return Endpoint("attacker", chain, key, legit=False, pkp_header=header)


def _until_recovery(world: World, recover: Callable[[], None], what: str) -> Story:
    """The owner recovers exactly once: when it responds to the first detection signal
    (also revoking the certificate the attacker then serves, if the attacker's own), or when
    the attack window ends."""
    done = False

    def recover_once(at: SimTime) -> None:
        nonlocal done
        if done:
            return
        done = True
        recover()
        world.attack_end = at
        world.events.append((at, what))

    def respond(at: SimTime) -> None:
        if world.attacker is not None and world.attacker.chain is not world.owner.chain:
            _revoke(
                world,
                world.other_ca,
                world.attacker.chain,
                at,
                "the CA that issued the attacker's certificate",
            )
        recover_once(at)

    world.on_detect.append(respond)
    yield world.s.attack_days * DAY
    recover_once(world.engine.now)


def domain_hijack(world: World) -> Story:
    """A registrar takeover, a DV certificate, DNS to the attacker (Sea Turtle, 2019).

    DNS answers every client, so the hijack reaches browsers, apps and legacy clients alike,
    on every network. Sea Turtle's attackers did not use HPKP; ``hijacker_pins`` adds it.
    """
    yield world.attack_start
    registry = world.registry
    registry.controller[world.host] = "attacker"
    world.attacker = _self_pinning_attacker(world, pins=world.s.hijacker_pins)
    world.serving["dc-attacker"] = world.attacker
    registry.address[world.host] = "dc-attacker"
    world.events.append((world.engine.now, "registrar taken over; DNS points to the attacker"))

    def recover() -> None:
        registry.controller[world.host] = "owner"
        registry.address[world.host] = "dc-owner"

    yield from _until_recovery(world, recover, "owner recovers the domain")


def hpkp_ransom(world: World) -> Story:
    """RansomPKP: control of the web server, then HPKP pins only the attacker holds.

    A demonstration (Zadegan and Lester, Black Hat USA / DEF CON 24, 2016), not an observed
    attack. Every HPKP-capable browser notes the attacker's header, so it hurts sites that
    never deployed HPKP. Against a site that does send HPKP, the attacker, who holds the
    server's live key, first serves the genuine certificate pinning that key plus its own
    (returning visitors accept it and replace their pins), and halfway through the window
    rotates to its own certificate and keys. After recovery, visitors who noted the
    attacker's last pins are locked out until those expire.
    """
    yield world.attack_start
    world.registry.web_operator["dc-owner"] = "attacker"  # so HTTP-01 validation passes
    key = _attacker_key(world)
    if world.owner.pkp_header is not None:
        live = world.owner
        bridge = world.pkp_header({spki_pin(live.key.public_key()), spki_pin(key.public_key())})
        world.attacker = Endpoint("attacker", live.chain, live.key, legit=False, pkp_header=bridge)
        world.serving["dc-owner"] = world.attacker
        world.events.append(
            (world.engine.now, "attacker controls the web server; pins the live key and its own")
        )
        world.engine.at(world.engine.now + world.s.attack_days * DAY / 2, lambda: _rotate(world))
    else:
        _rotate(world)

    def restore() -> None:
        world.registry.web_operator["dc-owner"] = "owner"
        world.serving["dc-owner"] = world.owner
        world.attacker = None

    yield from _until_recovery(
        world, restore, "owner restores the server; the attacker deletes its keys"
    )


def _rotate(world: World) -> None:
    """The ransomer serves its own certificate, pinning only keys it holds."""
    if world.registry.web_operator.get("dc-owner") != "attacker":
        return  # the owner already recovered
    world.attacker = _self_pinning_attacker(world, pins=True)
    world.serving["dc-owner"] = world.attacker
    world.events.append((world.engine.now, "attacker serves its own certificate and pins"))


STORIES: dict[str, Callable[[World], Story]] = {
    "mitm": mitm,
    "mitm-local-root": mitm_local_root,
    "ca-compromise": ca_compromise,
    "key-loss": key_loss,
    "key-theft": key_theft,
    "domain-hijack": domain_hijack,
    "hpkp-ransom": hpkp_ransom,
}
