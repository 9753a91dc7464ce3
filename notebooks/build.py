"""Writes simlab's teaching notebooks, without outputs: ``python notebooks/build.py``.

The notebooks' source of truth is this file, so they are reviewed as code and committed
without stale outputs; ``make notebooks`` regenerates them, and a test checks that the
committed copies match and that each runs top to bottom.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).parent

SETUP = """\
import warnings
from concurrent.futures import ThreadPoolExecutor

import matplotlib.pyplot as plt
import pandas as pd

import simlab
from simlab import charts
from simlab.runner import COLUMNS, DEFENCES
from simlab.teaching import check

pd.set_option("display.precision", 3)
"""


def md(text: str) -> nbformat.NotebookNode:
    return new_markdown_cell(text.strip())


def code(text: str) -> nbformat.NotebookNode:
    return new_code_cell(text.strip())


def by_kind(result_expr: str) -> str:
    return f"""\
t = {result_expr}.table
attacker = t[t["responder"] == "attacker"]
(attacker.assign(accepted=attacker["outcome"].isin(["intercepted", "clicked_through"]))
 .groupby("kind")["accepted"].mean().rename("share of attacker connections accepted"))
"""


NOTEBOOKS: dict[str, list[nbformat.NotebookNode]] = {}

NOTEBOOKS["00-tour"] = [
    md("""
# A tour of simlab

simlab builds a small world of certificate authorities, a domain owner, an attacker, CT logs
and clients, and sends every client visit through the same decision pipeline a browser used
in the HPKP era: **route → path validation → revocation → CT policy → pins → outcome →
header processing → reports**. Everything is real: the certificates are X.509, the pins are
RFC 7469 `pin-sha256` values, the SCTs are RFC 6962 signatures. This notebook follows one
connection step by step, then takes a certificate out of the simulator and checks it with
`openssl`.
"""),
    code(SETUP),
    code("""
from simlab.world import Settings, World

world = World(Settings(hpkp=True, n_clients=20), seed=0)
print("domain:", world.host)
print("owner's chain:", [c.subject.rfc4514_string() for c in world.owner.chain.certificates])
print("owner's HPKP header:", world.owner.pkp_header)
"""),
    md("Who vouches for the site: two public roots, their issuing CAs, the owner's certificate."),
    code("charts.trust_graph(world);"),
    md("""
## One connection, step by step

We take the first browser and let it visit one hour into the simulation. Each step below
is a call into the mechanism modules, exactly what `World.connect` does for every visit.
"""),
    code("""
client = next(c for c in world.clients if c.kind == "browser")
at = 3600.0

endpoint = world.answerer(client)
print("1. route: answered by", endpoint.operator)

validation = world.validator.validate(endpoint.chain, client.store, world.host, at)
print("2. path validation:", "ok" if validation.ok else validation.reason,
      "| chain length", len(validation.chain), "| anchor:", validation.anchor_origin)

revoked = world.responder.check(validation.chain, at, world.revocation_mode)
print("3. revocation:", revoked or "good")
print("4. CT policy: this client enforces none" if client.ct_policy is None else "4. CT policy")

pins = client.kph.check(world.host, validation.pins, at=at, anchor_origin=validation.anchor_origin)
print("5. pin check:", pins.verdict, "(nothing noted yet: a first visit)")

noted = client.kph.process_header(world.host, endpoint.pkp_header, at=at,
                                  validated_pins=validation.pins,
                                  anchor_origin=validation.anchor_origin)
print("7. header processing:", noted.state, "-", noted.reason)
print("   pins noted for", world.host, ":", sorted(client.kph.entry(world.host, at).pins))
"""),
    md("""
The pin set is accepted because it contains a pin of the validated chain (the server's key)
**and** a backup pin that is not in the chain (RFC 7469 section 2.5). From now on, a chain
without one of these keys is a hard failure for this browser, with no "proceed anyway".
The engine does the same thing for every visit, and records one row per connection:
"""),
    code("""
world.connect(client.id, at + 60)
pd.DataFrame(world.rows[-1:], columns=COLUMNS)
"""),
    md("""
## Take a certificate out and check it with openssl

The pin is base64(SHA-256(DER SubjectPublicKeyInfo)). `openssl` computes the same value.
Simulated time starts on 2016-01-04, so `openssl verify` is told when to check (`-attime`).
"""),
    code("""
import shutil
import subprocess
import tempfile
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from simlab.pki import spki_pin

folder = Path(tempfile.mkdtemp())
(folder / "chain.pem").write_text(world.owner.chain.pem())
(folder / "leaf.pem").write_bytes(world.owner.chain.leaf.public_bytes(serialization.Encoding.PEM))
(folder / "root.pem").write_bytes(world.root.certificate.public_bytes(serialization.Encoding.PEM))

if shutil.which("openssl"):
    pipeline = ("openssl x509 -pubkey -noout -in leaf.pem | openssl pkey -pubin -outform der"
                " | openssl dgst -sha256 -binary | base64")
    from_openssl = subprocess.run(pipeline, shell=True, cwd=folder, capture_output=True,
                                  text=True, check=True).stdout.strip()
    print("openssl:", from_openssl)
    print("simlab: ", spki_pin(world.owner.chain.leaf))
    attime = str(int(world.epoch.timestamp()) + 3600)
    verify = subprocess.run(["openssl", "verify", "-attime", attime, "-CAfile", "root.pem",
                             "-untrusted", "chain.pem", "leaf.pem"],
                            cwd=folder, capture_output=True, text=True)
    print(verify.stdout.strip())
else:
    print("openssl is not installed here; the pins above are what it would print.")
"""),
    md("""
## Exercises

1. How many certificates are in the **validated** chain (leaf to anchor)?
2. Is the owner's backup pin one of the validated chain's pins? (`True` or `False`)
"""),
    code("""
answer_1 = None  # a number
answer_2 = None  # True or False
"""),
    code("""
check(answer_1, len(validation.chain),
      explain="Leaf, intermediate and the root the verifier anchored at.")
backup = spki_pin(world.backup_key.public_key())
check(answer_2, backup in validation.pins,
      explain="A backup pin must NOT be in the chain: it names a key kept in reserve.")
"""),
]

NOTEBOOKS["01-mitm"] = [
    md("""
# Man in the middle: an untrusted certificate, and a user-installed root

An attacker on one access network (a hostile Wi-Fi, a rogue ISP) answers for the site.

* With a **self-signed certificate**, path validation fails. Browsers show a warning that
  users can click through, as MyEtherWallet's users did during the April 2018 BGP hijack.
  Chromium makes the error fatal only for hosts with HSTS or pins
  (`TransportSecurityState::ShouldSSLErrorsBeFatal`); apps show no warning at all.
* With a **root the victims installed** (an enterprise inspection proxy, or malware),
  validation succeeds. Browsers then skip pin and CT checks for locally installed roots;
  apps with bundled pins do not.
"""),
    code(SETUP),
    code("""
defences = list(DEFENCES)
runs = {(s, d): simlab.run(s, d, seed=0) for s in ("mitm", "mitm-local-root") for d in defences}
metrics = pd.DataFrame([{"scenario": s, "defence": d, **r.metrics} for (s, d), r in runs.items()])
charts.heatmap(metrics, "interception_rate");
"""),
    md("Who accepted the attacker, by kind of client, with no defence and with static pins:"),
    code(by_kind('runs["mitm", "none"]')),
    code(by_kind('runs["mitm", "static"]')),
    md("""
With static pins the browsers never click through: a pinned host's certificate errors are
fatal. The remaining interceptions are legacy clients. Now the user-installed root:
"""),
    code(by_kind('runs["mitm-local-root", "static"]')),
    code("""
charts.timeline(pd.concat([runs["mitm", d].daily().reset_index().assign(scenario="mitm", defence=d)
                           for d in defences]), "mitm");
"""),
    md("""
## Exercises

1. Under `mitm-local-root`, which defence kept **app** users safe? (a defence name)
2. Under `mitm` with the `ct` defence, what share of the attacker's **browser**
   connections were accepted? Compare it with `none`: does CT remove the click-through?
   (answer to two decimals)
"""),
    code("answer_1 = None\nanswer_2 = None"),
    code("""
safe = [d for d in defences
        if (runs["mitm-local-root", d].table.query("responder == 'attacker' and kind == 'app'")
            ["outcome"] == "blocked").all()]
check(answer_1, safe[0], explain="Bundled app pins ignore the local root; browsers bypass.")
ct = runs["mitm", "ct"].table.query("responder == 'attacker' and kind == 'browser'")
share = ct["outcome"].isin(["intercepted", "clicked_through"]).mean()
check(answer_2, round(float(share), 2), tolerance=0.011,
      explain="CT is checked only after path validation succeeds; it leaves the warning as it was.")
"""),
]

NOTEBOOKS["02-ca-compromise"] = [
    md("""
# CA compromise: DigiNotar, 2011

A rogue `*.google.com` certificate was issued by DigiNotar on 10 July 2011 and used on-path
in Iran. DigiNotar detected the intrusion on 19 July; an Iranian user posted Chrome's pin
warning on 27 August; the certificate was made public and revoked on 29 August. Chrome's
static pins for Google protected its users; browsers without pins were intercepted. At
least 531 rogue certificates were issued; about 300,000 unique IPs queried OCSP for the
Google certificate, over 99% from Iran (Fox-IT interim report, September 2011).

`simlab replay diginotar-2011` runs the same story; here we look inside it.
"""),
    code(SETUP),
    code("""
from simlab.replays import REPLAYS

replay = REPLAYS["diginotar-2011"]
runs = {d: simlab.run(replay.scenario, d, seed=0, **replay.params)
        for d in DEFENCES}
pd.DataFrame({d: r.metrics for d, r in runs.items()}).T
"""),
    md("Under the defences deployed at the time: Chrome had static pins, other browsers none."),
    code(by_kind('runs["static"]')),
    code(by_kind('runs["none"]')),
    code('charts.trust_graph(runs["static"].world);'),
    md("""
The rogue certificate chains to a public root, so path validation succeeds everywhere.
Only a pin on the site's own CA notices that the wrong CA vouched for it. Who noticed, and
when? With static pins the first signal is a user reporting the warning; with HPKP the
clients that already hold pins block, but an on-path attacker drops their reports.
"""),
    md("""
## Exercises

1. Under `static`, which signal first told the owner? (the `detected_by` value)
2. Under `hpkp`, were browsers fully protected? Answer `True` if no browser accepted the
   rogue certificate.
"""),
    code("answer_1 = None\nanswer_2 = None"),
    code("""
check(answer_1, runs["static"].metrics["detected_by"],
      explain="An Iranian user posted Chrome's warning: a person, not a protocol.")
hit = runs["hpkp"].table.query("responder == 'attacker' and kind == 'browser'")
check(answer_2, not hit["outcome"].isin(["intercepted"]).any(),
      explain="HPKP protects only clients that already hold unexpired pins.")
"""),
]

NOTEBOOKS["03-key-loss-and-theft"] = [
    md("""
# Losing a key, and having it stolen

**Key loss.** The server's key is destroyed on day 10 and the owner re-keys at once. With no
pinning, nobody notices. With HPKP, every browser holding the old pins is locked out until
its entry expires, up to max-age (60 days in Chrome), unless the owner still has the
pinned backup key. Apps with bundled pins are locked out until an update ships and users
install it. Smashing Magazine lived this in October 2016.

**Key theft.** The attacker serves the *genuine* chain with the stolen key. Pins and CT see
a genuine certificate, so only revocation and re-keying help, once the owner notices.
"""),
    code(SETUP),
    code("""
loss = {(d, b): simlab.run("key-loss", d, seed=0, backup_key_survives=b)
        for d in ("none", "static", "hpkp", "ct") for b in (False, True)}
pd.DataFrame([{"defence": d, "backup key survives": b,
               "legit failure rate": r.metrics["legit_failure_rate"],
               "lockout days": r.metrics["lockout_duration"] / 86400}
              for (d, b), r in loss.items()])
"""),
    code("""
frames = [loss[d, False].daily().reset_index().assign(scenario="key-loss", defence=d)
          for d in ("none", "static", "hpkp", "ct")]
charts.timeline(pd.concat(frames), "key-loss");
"""),
    md("Move the controls to re-run the HPKP key-loss scenario and redraw the failures per day:"),
    code("""
import ipywidgets as widgets

def key_loss(max_age_days=60, backup_key_survives=False, app_update_days=14,
             app_adoption_mean_days=7):
    r = simlab.run("key-loss", "hpkp", seed=0, max_age_days=float(max_age_days),
                   backup_key_survives=backup_key_survives)
    apps = simlab.run("key-loss", "static", seed=0, backup_key_survives=backup_key_survives,
                      app_update_days=float(app_update_days),
                      app_adoption_mean_days=float(app_adoption_mean_days))
    _, ax = plt.subplots(figsize=(7, 3))
    for name, res in (("HPKP browsers", r), ("apps with bundled pins", apps)):
        daily = res.table[res.table["legit"] & (res.table["outcome"] == "blocked")]
        ax.plot(daily.groupby("day").size().reindex(range(90), fill_value=0), label=name)
    ax.set_xlabel("day"); ax.set_ylabel("failed connections to the real site"); ax.legend()
    ax.set_title(f"Self-inflicted outage: max-age {max_age_days} d, "
                 f"backup key survives: {backup_key_survives}")
    plt.show()

widgets.interact(key_loss, max_age_days=(1, 60, 1), backup_key_survives=False,
                 app_update_days=(1, 60, 1), app_adoption_mean_days=(1, 60, 1));
"""),
    code("""
theft = {d: simlab.run("key-theft", d, seed=0) for d in DEFENCES}
pd.DataFrame({d: r.metrics for d, r in theft.items()}).T[["interception_rate", "exposure_window"]]
"""),
    md("""
## Exercises

1. With HPKP and **no** surviving backup key, roughly how many days did the longest
   lock-out last? (whole days; within 10%)
2. Which defence stopped the key thief? Answer `"none of them"` or a defence name.
"""),
    code("answer_1 = None\nanswer_2 = None"),
    code("""
check(answer_1, round(loss["hpkp", False].metrics["lockout_duration"] / 86400), tolerance=0.1,
      explain="Browsers hold the pins for max-age after their last visit before the loss.")
stopped = [d for d, r in theft.items() if r.metrics["interception_rate"] < 0.5]
check(answer_2, stopped[0] if stopped else "none of them",
      explain="A stolen key and a genuine certificate pass pins and CT alike.")
"""),
]

NOTEBOOKS["04-domain-hijack"] = [
    md("""
# Domain hijack

The attacker takes over the registrar account, passes domain validation at another public
CA (it controls the name now), and points DNS at itself. Sea Turtle (disclosed April 2019)
did this to at least 40 organisations in 13 countries. The hijacker may also send its own
HPKP header: browsers that had no pins for the site note the hijacker's keys and are locked
out after the owner recovers.
"""),
    code(SETUP),
    code("""
runs = {d: simlab.run("domain-hijack", d, seed=0) for d in DEFENCES}
pd.DataFrame({d: r.metrics for d, r in runs.items()}).T
"""),
    code(by_kind('runs["hpkp"]')),
    md("Failures to reach the real site after recovery, under HPKP: the hijacker's pins at work."),
    code("""
t = runs["hpkp"].table
t[t["legit"] & (t["outcome"] == "blocked")].groupby("day").size().plot(
    kind="bar", figsize=(8, 3), title="Locked out by the hijacker's pins", xlabel="day");
"""),
    code('charts.network_graph(runs["ct"].world, runs["ct"].table);'),
    md("""
## Exercises

1. Under `ct`, how many hours after the hijack did the owner's monitor raise the alert?
   (within 10%)
2. With `hijacker_pins=False`, does anyone get locked out under HPKP? (`True`/`False`)
"""),
    code("answer_1 = None\nanswer_2 = None"),
    code("""
check(answer_1, runs["ct"].metrics["detection_time"] / 3600, tolerance=0.1,
      explain="The log merged within an hour and the monitor polls every hour.")
calm = simlab.run("domain-hijack", "hpkp", seed=0, hijacker_pins=False)
check(answer_2, calm.metrics["legit_failure_rate"] > 0,
      explain="Without the hijacker's header there is nothing to lock clients out.")
"""),
]

NOTEBOOKS["05-hpkp-ransom"] = [
    md("""
# HPKP ransom (RansomPKP)

Zadegan and Lester (Black Hat USA / DEF CON 24, 2016) showed that HPKP turns a short server
compromise into a long outage: the attacker obtains a certificate, serves pins only it
holds with the longest max-age, then deletes the keys and asks for a ransom. Everyone who
visited during the window is locked out after the owner takes the server back, for up to
max-age. Apps with bundled pins are immune: their pins do not come from the server.
"""),
    code(SETUP),
    code("""
runs = {d: simlab.run("hpkp-ransom", d, seed=0) for d in DEFENCES}
pd.DataFrame({d: r.metrics for d, r in runs.items()}).T
"""),
    md("How long the lock-out lasts depends on max-age. Each point is a run:"),
    code("""
from simlab.sweep import parameter_sweep

swept = parameter_sweep("hpkp-ransom", "max_age_days", [1, 7, 30, 60], defences=["hpkp", "none"],
                        seeds=1, executor=ThreadPoolExecutor(max_workers=1), progress=False)
charts.parameter_chart(swept, "max_age_days", "lockout_duration");
"""),
    code("""
import ipywidgets as widgets

def ransom(max_age_days=60, response_hours=48):
    r = simlab.run("hpkp-ransom", "hpkp", seed=0, max_age_days=float(max_age_days),
                   response_hours=float(response_hours))
    charts.timeline(r.daily().reset_index().assign(scenario="hpkp-ransom", defence="hpkp"),
                    "hpkp-ransom")
    plt.show()

widgets.interact(ransom, max_age_days=(1, 60, 1), response_hours=(1, 168, 1));
"""),
    md("""
## Exercises

1. Under `static`, how many app clients were locked out? (a number)
2. Under `ct`, is the attacker's window shorter than under `none`? (`True`/`False`)
"""),
    code("answer_1 = None\nanswer_2 = None"),
    code("""
t = runs["static"].table
locked = t[t["legit"] & (t["kind"] == "app") & (t["outcome"] == "blocked")]
check(answer_1, int(locked["client"].nunique()),
      explain="Bundled pins never came from the attacker, so there is nothing to lock out.")
check(answer_2, runs["ct"].metrics["exposure_window"] < runs["none"].metrics["exposure_window"],
      explain="The attacker's new certificate is logged, the monitor alerts, the owner acts.")
"""),
]

NOTEBOOKS["06-certificate-transparency"] = [
    md("""
# Certificate Transparency

CT logs are append-only Merkle trees (RFC 6962). A CA submits a precertificate, each log
returns a signed promise (an SCT) to merge it within its Maximum Merge Delay, and the CA
embeds the SCTs in the final certificate. Monitors read the logs for the owner; auditors
check the logs kept their promises. CT does not prevent anything: it makes misissuance
visible.
"""),
    code(SETUP),
    code("""
import networkx as nx
from simlab.ct import MerkleTree, verify_inclusion

leaves = [f"certificate {i}".encode() for i in range(6)]
tree = MerkleTree()
for leaf in leaves:
    tree.append(leaf)
proof = tree.inclusion_proof(2, 6)
print("root:", tree.root().hex()[:16], "...  proof for leaf 2:", [p.hex()[:8] for p in proof])
print("verifies:", verify_inclusion(leaves[2], 2, 6, proof, tree.root()))
print("tampered leaf verifies:", verify_inclusion(b"forged", 2, 6, proof, tree.root()))
"""),
    md("The tree of six leaves; the proof for leaf 2 is the hashes in orange:"),
    code("""
def subtree(lo, hi, g):
    name = f"[{lo},{hi})"
    if hi - lo > 1:
        k = 1 << ((hi - lo - 1).bit_length() - 1)
        g.add_edge(name, subtree(lo, lo + k, g))
        g.add_edge(name, subtree(lo + k, hi, g))
    else:
        g.add_node(name)
    return name

g = nx.DiGraph()
root = subtree(0, 6, g)
on_proof = {"[3,4)", "[0,2)", "[4,6)"}
pos = nx.bfs_layout(g, root, align="horizontal")
pos = {n: (x, -y) for n, (x, y) in pos.items()}
fig, ax = plt.subplots(figsize=(7, 3.5))
nx.draw_networkx(g, pos, ax=ax, node_size=900, font_size=7, arrows=False,
                 node_color=["#E69F00" if n in on_proof else "#56B4E9" for n in g])
ax.set_title("Inclusion proof for leaf 2: three hashes rebuild the root"); ax.axis("off");
"""),
    md("SCTs inside a certificate the simulated CA issued in the CT world:"),
    code("""
from simlab.ct import embedded_scts, verify_sct

r = simlab.run("ca-compromise", "ct", seed=0, rogue_logged=True)
world = r.world
leaf, issuer = world.owner.chain.leaf, world.owner.chain.certificates[1]
for sct, log in zip(embedded_scts(leaf), world.logs, strict=True):
    valid = verify_sct(sct, leaf, issuer, log.public_key)
    print(f"{log.name} ({log.operator}) at {sct.timestamp:%Y-%m-%d %H:%M}: valid={valid}")
"""),
    code("""
charts.ct_timeline(r.events, "A logged rogue certificate: issued, merged, seen, revoked",
                   start=world.attack_start);
"""),
    md(
        "Detection delay = merge delay + monitor poll interval (+ the owner's response, to revoke):"
    ),
    code("""
import ipywidgets as widgets

def detection(merge_delay_hours=1.0, monitor_interval_hours=1.0):
    res = simlab.run("domain-hijack", "ct", seed=0, merge_delay_hours=float(merge_delay_hours),
                     monitor_interval_hours=float(monitor_interval_hours))
    print(f"detected by {res.metrics['detected_by']} after "
          f"{res.metrics['detection_time'] / 3600:.1f} h")

widgets.interact(detection, merge_delay_hours=(0.5, 24, 0.5),
                 monitor_interval_hours=(0.5, 24, 0.5));
"""),
    md("A log that issues an SCT but never merges the entry is caught once the MMD has passed:"),
    code("""
from simlab.ct import Auditor, CTLog, precert_hook

honest, broken = CTLog("honest", "A"), CTLog("broken", "B")
chain = world.issuing.issue("owner", [world.host], world.owner_key.public_key(), at=0,
                            precert_hook=precert_hook([honest, broken], 0))
auditor = Auditor([honest, broken])
for log in (honest, broken):
    auditor.remember(log.submissions[0].sct, log.submissions[0].leaf, seen_at=0)
broken.withhold(broken.submissions[0].sct)
print("after 23 h:", auditor.audit(23 * 3600))
print("after 24 h:", [(f.log, f.kind) for f in auditor.audit(24 * 3600)])
"""),
    md("""
A split view: the log merges the rogue certificate only into the tree it shows its victim,
so the victim's SCT checks out while the owner's monitor never sees the entry. Right after
the fork the victim's tree is still a valid extension of the public one, so nothing can be
proved yet. Once the log merges anything else, the two views diverge and comparing their
signed tree heads (gossip) exposes it: no consistency proof can join them.
"""),
    code("""
twofaced = CTLog("twofaced", "Evil", merge_delay=3600)
world.issuing.issue("owner", [world.host], world.owner_key.public_key(), at=0,
                    precert_hook=precert_hook([twofaced], 0))
twofaced.merge(3600)
from simlab.keys import derive_key

attacker_key = derive_key(0, "split-view-attacker")
world.other_ca.compromise().issue([world.host], attacker_key.public_key(), at=7200,
                                  precert_hook=precert_hook([twofaced], 7200))
twofaced.show_only_to(twofaced.submissions[-1].sct, "victim")
early_finding = Auditor([twofaced]).compare(
    twofaced, twofaced.sth(3 * 3600, view="victim"), twofaced.sth(3 * 3600), at=3 * 3600)
print("right after the fork:", early_finding)
world.issuing.issue("owner", [f"www.{world.host}"], world.owner_key.public_key(), at=10800,
                    precert_hook=precert_hook([twofaced], 10800))  # the log keeps growing
seen_by_victim = twofaced.sth(5 * 3600, view="victim")
seen_by_monitor = twofaced.sth(5 * 3600)
print("victim's tree:", seen_by_victim.tree_size, "entries; monitor's tree:",
      seen_by_monitor.tree_size, "entries; both signatures valid:",
      seen_by_victim.verify(twofaced.public_key) and seen_by_monitor.verify(twofaced.public_key))
print(Auditor([twofaced]).compare(twofaced, seen_by_victim, seen_by_monitor, at=5 * 3600))
"""),
    md("""
The owner's monitor takes no log's word either. It checks each tree head's signature, and
then recomputes the root from the entries it downloaded. So even a tree head the log really
signed is caught if its root does not match the entries. The log gets no more trust: its
entries are not believed, and it becomes a finding.
"""),
    code("""
import dataclasses
from simlab.ct import Monitor
from simlab.ct.log import sth_signature_input
from simlab.ct.sct import sign

class Forger(CTLog):  # signs tree heads whose root its entries do not have
    def sth(self, at, **kwargs):
        honest = super().sth(at, **kwargs)
        root = bytes(32)
        signed = sign(self._key, sth_signature_input(honest.timestamp_ms, honest.tree_size, root))
        return dataclasses.replace(honest, root_hash=root, signature=signed)

forger = Forger("forger", "Evil", merge_delay=3600)
world.issuing.issue("owner", [world.host], world.owner_key.public_key(), at=0,
                    precert_hook=precert_hook([forger], 0))
watcher = Monitor(frozenset({world.host}), set(), [forger])
lie = forger.sth(2 * 3600)
print("the forged tree head's signature is valid:", lie.verify(forger.public_key))
print("alerts:", watcher.poll(2 * 3600))
print("findings:", [(f.log, f.kind, f.detail) for f in watcher.findings])
"""),
    md("""
## Exercises

1. How many hashes are in the inclusion proof for leaf 2 in a tree of 6 leaves?
2. With a merge delay of 1 h and a monitor polling every 1 h, after how many hours is a
   hijacker's certificate seen at the latest? (a number)
3. Right after the log forked its views, could gossip prove the split view? (`True`/`False`)
"""),
    code("answer_1 = None\nanswer_2 = None\nanswer_3 = None"),
    code("""
check(answer_1, len(proof), explain="One sibling per level on the path to the root.")
check(answer_2, 2, tolerance=0.01,
      explain="Merged after 1 h, then seen at the next poll, at most 1 h later.")
check(answer_3, early_finding is not None,
      explain="Not yet: the victim's tree still extends the public one. Only divergence is proof.")
"""),
]

NOTEBOOKS["07-did-ct-replace-pinning"] = [
    md("""
# Did CT replace pinning "without compromising the quality of service"?

Chrome announced HPKP's deprecation on 27 October 2017 and removed it in Chrome 72;
Firefox disabled it by default in Firefox 72. The argument was that Certificate
Transparency gives the same protection against misissuance without the risk of sites
locking out their own users. Here is the data from every scenario under every defence:
attacks stopped on one side, self-inflicted outages on the other.
"""),
    code(SETUP),
    code("""
from simlab.sweep import compare

metrics, daily = compare(seeds=1, workers=2, progress=False)
charts.heatmap(metrics, "interception_rate");
"""),
    code('charts.heatmap(metrics, "legit_failure_rate");'),
    code('charts.heatmap(metrics, "detection_time");'),
    code("""
by_defence = metrics.groupby("defence", sort=False)
summary = by_defence[["interception_rate", "legit_failure_rate"]].mean()
summary["scenarios_with_outages"] = by_defence["legit_failure_rate"].apply(
    lambda s: int((s > 0).sum())
)
summary
"""),
    md("""
What the data says: CT alone blocks unlogged rogue certificates and shortens every window it
can see, and it causes **no** self-inflicted outage in any scenario. Pinning blocks more
attacks outright (CA compromise, hijacks), but HPKP is the only defence that makes key
loss, hijacks and ransoms lock real users out. No defence stops a stolen key or a
user-installed root in browsers. So: CT replaced pinning's protection against
*misissuance* without its outages; it did not replace pinning's *prevention*.
"""),
    md("""
## Exercises

1. Which defence has the highest mean legit failure rate? (a defence name)
2. In how many scenarios does `ct` cause any self-inflicted outage? (a number)
"""),
    code("answer_1 = None\nanswer_2 = None"),
    code("""
check(answer_1, summary["legit_failure_rate"].idxmax(),
      explain="Dynamic pins outlive the keys they name.")
check(answer_2, int(summary.loc["ct", "scenarios_with_outages"]),
      explain="CT never blocks the owner's own, logged certificate.")
"""),
]


def build() -> dict[str, nbformat.NotebookNode]:
    out = {}
    for name, cells in NOTEBOOKS.items():
        nb = new_notebook(cells=cells)
        for i, cell in enumerate(nb.cells):
            cell["id"] = f"{name}-{i:02d}"  # stable ids: rebuilding changes nothing
        nb.metadata["kernelspec"] = {
            "name": "python3",
            "display_name": "Python 3",
            "language": "python",
        }
        nb.metadata["language_info"] = {"name": "python"}
        out[name] = nb
    return out


def main() -> int:
    for name, nb in build().items():
        path = HERE / f"{name}.ipynb"
        nbformat.write(nb, path)
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
