# ---
# jupyter:
#   jupytext:
#     notebook_metadata_filter: kernelspec,-jupytext.text_representation.jupytext_version
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Certificate Transparency
#
# CT logs are append-only Merkle trees (RFC 6962). A CA submits a precertificate, each log
# returns a signed promise (an SCT) to merge it within its Maximum Merge Delay, and the CA
# embeds the SCTs in the final certificate. Monitors read the logs for the owner; auditors
# check the logs kept their promises. CT does not prevent anything: it makes misissuance
# visible.

# %%
import matplotlib.pyplot as plt

import simlab
from simlab import charts
from simlab.teaching import check

# %%
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


# %% [markdown]
# The tree of six leaves; the proof for leaf 2 is the hashes in orange:

# %%
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

# %% [markdown]
# SCTs inside a certificate the simulated CA issued in the CT world:

# %%
from simlab.ct import embedded_scts, verify_sct

r = simlab.run("ca-compromise", "ct", seed=0, rogue_logged=True)
world = r.world
leaf, issuer = world.owner.chain.leaf, world.owner.chain.certificates[1]
for sct, log in zip(embedded_scts(leaf), world.logs, strict=True):
    valid = verify_sct(sct, leaf, issuer, log.public_key)
    print(f"{log.name} ({log.operator}) at {sct.timestamp:%Y-%m-%d %H:%M}: valid={valid}")

# %%
charts.ct_timeline(r.events, "A logged rogue certificate: issued, merged, seen, revoked",
                   start=world.attack_start);

# %% [markdown]
# Detection delay: the merge delay, then the wait for the monitor's next poll (at most one
# poll interval), plus the owner's response to revoke. Move the sliders and compare:

# %%
import ipywidgets as widgets

def detection(merge_delay_hours=1.0, monitor_interval_hours=1.0):
    res = simlab.run("domain-hijack", "ct", seed=0, merge_delay_hours=float(merge_delay_hours),
                     monitor_interval_hours=float(monitor_interval_hours))
    print(f"detected by {res.metrics['detected_by']} after "
          f"{res.metrics['detection_time'] / 3600:.1f} h")

widgets.interact(detection, merge_delay_hours=(0.5, 24, 0.5),
                 monitor_interval_hours=(0.5, 24, 0.5));

# %% [markdown]
# A log that issues an SCT but never merges the entry is caught once the MMD has passed:

# %%
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

# %% [markdown]
# A split view: the log merges the rogue certificate only into the tree it shows its victim,
# so the victim's SCT checks out while the owner's monitor never sees the entry. Right after
# the fork the victim's tree is still a valid extension of the public one, so nothing can be
# proved yet. Once the log merges anything else, the two views diverge and comparing their
# signed tree heads (gossip) exposes it: no consistency proof can join them.

# %%
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

# %% [markdown]
# The owner's monitor takes no log's word either. It checks each tree head's signature, and
# then recomputes the root from the entries it downloaded. So even a tree head the log really
# signed is caught if its root does not match the entries. The log gets no more trust: its
# entries are not believed, and it becomes a finding.

# %%
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

# %% [markdown]
# ## Exercises
#
# 1. A log holds 1,000 certificates. How many hashes are in the inclusion proof for the
#    first one (leaf 0)?
# 2. With the default merge delay and monitor interval (`simlab show domain-hijack` lists
#    them), after how many hours did the owner's monitor see the hijacker's certificate in
#    the run of `domain-hijack` under `ct` above (seed 0)? (a number)
# 3. Suppose the two-faced log above had never merged anything after the fork. Could
#    comparing tree heads ever prove the split view? (`True`/`False`)

# %%
answer_1 = None  # a number
answer_2 = None  # a number of hours
answer_3 = None  # True or False


# %%
def proof_length(leaf, size):
    big = MerkleTree()
    for i in range(size):
        big.append(f"certificate {i}".encode())
    return len(big.inclusion_proof(leaf, size))


def sighting_hours():
    return simlab.run("domain-hijack", "ct", seed=0).metrics["detection_time"] / 3600


check(answer_1, lambda: proof_length(0, 1000),
      hint="Each proof hash is the sibling at one level on the way up. How many levels does a "
           "tree of 1,000 leaves have?",
      explain="One sibling per level: ceil(log2(1000)) = 10. A proof stays small as logs grow.")
check(answer_2, sighting_hours, tolerance=0.01,
      hint="The entry must first be merged into the tree, and then the monitor must look. "
           "The slider above runs exactly this.",
      explain="Merged after the merge delay (1 h). The monitor polls every hour from the "
              "run's start, and here a poll falls just as the entry is merged, so it is seen "
              "at once. Had a poll just missed it, the wait would be up to one interval more: "
              "merge delay plus poll interval is the worst case, not the rule.")
check(answer_3, early_finding is not None,
      hint="Right after the fork, was the victim's tree a valid extension of the public one?",
      explain="No: as long as one view extends the other, a consistency proof joins them. Only "
              "divergence is proof.")
