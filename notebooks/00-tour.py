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
# # A tour of simlab
#
# simlab builds a small world of certificate authorities, a domain owner, an attacker, CT logs
# and clients, and sends every client visit through the same decision pipeline a browser used
# in the HPKP era: **route → path validation → revocation → CT policy → pins → outcome →
# header processing → reports**. Everything is real: the certificates are X.509, the pins are
# RFC 7469 `pin-sha256` values, the SCTs are RFC 6962 signatures. This notebook follows one
# connection step by step, then takes a certificate out of the simulator and checks it with
# `openssl`.

# %%
import pandas as pd

from simlab import charts
from simlab.runner import COLUMNS
from simlab.teaching import check

# %%
from simlab.world import Settings, World

world = World(Settings(hpkp=True, n_clients=20), seed=0)
print("domain:", world.host, "| clients of", world.era, "| simulated time starts", world.epoch)
print("owner's chain:", [c.subject.rfc4514_string() for c in world.owner.chain.certificates])
print("owner's HPKP header:", world.owner.pkp_header)

# %% [markdown]
# The world's clients come in three kinds, and every notebook uses these names:
#
# * **browser**: a web browser such as Chrome or Firefox. On a certificate error it shows a
#   warning page, which a user may click through. Depending on its release it holds pins (a
#   static preload list, or HPKP pins it noted from whatever header a site sent) and requires
#   CT of every site.
# * **app**: the site's own mobile app. It has no warning page: a certificate error simply
#   fails. It may bundle the site's pins (static pinning, as TrustKit or OkHttp do).
# * **legacy**: other software that speaks TLS, such as `curl`, an OpenSSL-based script or a
#   Java client. It checks the chain against the public roots, but has no pins, no CT, no
#   warning page and no revocation check: any certificate error fails the request.
#
# Each client runs one *release*: the browser or app version people used in the run's era
# (`era`, a month; October 2018 by default). The release decides what the client enforces,
# from `simlab/data/clients.toml`, where every rule cites its source. The site's defence
# decides only what the site serves.

# %%
pd.DataFrame({"kind": [c.kind for c in world.clients],
              "release": [c.release.name for c in world.clients]}).value_counts().rename("clients")

# %% [markdown]
# Who vouches for the site: two public roots, their issuing CAs, the owner's certificate.

# %%
charts.trust_graph(world);

# %% [markdown]
# ## One connection, step by step
#
# We take the first browser whose release notes HPKP headers and let it visit one hour into
# the simulation. Each step below is a call into the mechanism modules, exactly what
# `World.connect` does for every visit; which steps apply comes from the client's release.

# %%
client = next(c for c in world.clients if c.release.hpkp)
at = 3600.0
print("0. client:", client.release.name, "| revocation:", client.release.revocation,
      "| CT required:", client.release.requires_ct)

endpoint = world.answerer(client)
print("1. route: answered by", endpoint.operator)

validation = world.validator.validate(endpoint.chain, client.store, world.host, at)
print("2. path validation:", "ok" if validation.ok else validation.reason,
      "| chain length", len(validation.chain), "| anchor:", validation.anchor_origin)

revoked = world.revoked(client, validation, at, reachable=True)
print("3. revocation:", "revoked" if revoked else "good")
policy = world.ct_policy_for(client, at)
print("4. CT policy:", policy.name if policy else "none (this release requires no CT here)")

pins = client.kph.check(world.host, validation.pins, at=at, anchor_origin=validation.anchor_origin)
print("5. pin check:", pins.verdict.value.replace("_", " "), "(nothing noted yet: a first visit)")
decision = world.decide(client, endpoint.chain, at)  # steps 2-5 together, as the engine runs them
print("6. outcome:", decision.verdict, f"({decision.reason})" if decision.reason else "")

noted = client.kph.process_header(world.host, endpoint.pkp_header, at=at,
                                  validated_pins=validation.pins,
                                  anchor_origin=validation.anchor_origin)
print("7. header processing: the Public-Key-Pins header was", noted.reason)
print("   pins noted for", world.host, ":", sorted(client.kph.entry(world.host, at).pins))

# %% [markdown]
# The pin set is accepted because it contains a pin of the validated chain (the server's key)
# **and** a backup pin that is not in the chain (RFC 7469 section 2.5). From now on, a chain
# without one of these keys is a hard failure for this browser, with no "proceed anyway".
# The engine does the same thing for every visit, and records one row per connection:

# %%
world.connect(client.id, at + 60)
row = pd.DataFrame(world.rows[-1:], columns=COLUMNS)
row.assign(time=row["time"] / 3600, reason=row["reason"].replace("", "-")).rename(
    columns={"time": "time (h)"})

# %% [markdown]
# ## Take a certificate out and check it with openssl
#
# The pin is base64(SHA-256(DER SubjectPublicKeyInfo)). `openssl` computes the same value.
# Simulated time starts on the first day of the era's month, so `openssl verify` is told when
# to check (`-attime`).

# %%
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

# %% [markdown]
# ## Exercises
#
# 1. Is the owner's backup pin one of the validated chain's pins? (`True` or `False`)
# 2. The browser above has noted the owner's pins. Later the owner loses its key and moves to
#    the **backup** key. Does the browser still connect on its next visit? (`True`/`False`)
# 3. And if the owner moves to a **brand-new** key instead? (`True`/`False`)

# %%
answer_1 = None  # True or False
answer_2 = None  # True or False
answer_3 = None  # True or False

# %%
def connects_after_rekey(use_backup):
    """A fresh world: a browser notes the pins, the owner re-keys, the browser comes back."""
    w = World(Settings(hpkp=True, n_clients=20), seed=0)
    browser = next(c for c in w.clients if c.release.hpkp)
    w.connect(browser.id, 3600.0)
    w.rekey(7200.0, use_backup=use_backup)
    w.connect(browser.id, 10800.0)
    return pd.DataFrame(w.rows, columns=COLUMNS)["outcome"].iloc[-1] == "connected"


backup = spki_pin(world.backup_key.public_key())
check(answer_1, backup in validation.pins,
      hint="Which key does a backup pin name: one the server uses now, or one kept in reserve?",
      explain="A backup pin must NOT be in the chain: it names a key kept in reserve.")
check(answer_2, lambda: connects_after_rekey(use_backup=True),
      hint="The browser accepts a chain if any of its keys is in the noted pin set.",
      explain="The backup key was pinned, so the new chain matches a noted pin.")
check(answer_3, lambda: connects_after_rekey(use_backup=False),
      hint="Is the new key, or any CA key in its chain, among the pins the browser noted?",
      explain="No noted pin matches: a hard failure, with no way to click through, until "
              "the pins expire. This is why RFC 7469 requires a backup pin.")
