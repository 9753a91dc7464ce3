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
# # Certificate Transparency with tools nobody here wrote
#
# simlab's logs, SCTs and tree heads are real, so real tools can check them. This notebook
# serves the `ca-compromise` incident live on 127.0.0.1 (a compromised CA issues a rogue
# certificate for `example.com` and, because browsers of the CT era demand SCTs, logs it),
# then:
#
# 1. points SSLMate's **certspotter**, the monitor a domain owner runs, at the simulated
#    logs over the RFC 6962 HTTP API, and reads its report;
# 2. shows certspotter accusing a log that lies in its signed tree heads;
# 3. checks the certificates' embedded SCTs with **openssl s_client -ct**.
#
# Every command below is also printed so you can type it in a terminal. A tool that is
# not installed is skipped with a note (`apt-get install certspotter openssl`).

# %%
import contextlib
import json
import re
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from simlab.ct import Lie, LogFront, Mount
from simlab.export import log_list
from simlab.live import scene
from simlab.pki import spki_pin
from simlab.teaching import check


def tool(name):
    """The tool's path, or None after saying why the next steps are skipped."""
    path = shutil.which(name)
    if path is None:
        print(f"{name} is not installed: skipping the steps that use it.")
    return path


def show(command):
    print("$ " + " ".join(str(part) for part in command))


# %% [markdown]
# ## The incident, live
#
# `simlab live ca-compromise --defence ct --param rogue_logged=true --out live/` does the
# same from a terminal. Here the scene starts in this notebook and is stopped in its last
# cell. `write` produces the files a student's tools read: `servers.json` (where
# everything is), `loglist.json` (the logs in the v3 log-list format Chrome and
# certspotter read) and `ctlogs.cnf` (the same logs for OpenSSL).

# %%
stack = contextlib.ExitStack()
live = stack.enter_context(scene("ca-compromise", "ct", rogue_logged=True))
folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="simlab-nb08-")))
live.write(folder / "live")
print((folder / "live" / "servers.json").read_text())
world = live.world
owner_key = spki_pin(world.owner.chain.leaf)
rogue_key = spki_pin(world.attacker.chain.leaf)
print("the owner's key  (RFC 7469 pin):", owner_key)
print("the attacker's key (RFC 7469 pin):", rogue_key)

# %% [markdown]
# ## certspotter reads the logs
#
# certspotter wants a watch list (a leading dot means "this domain and everything under
# it"), a log list and a folder for its state. It runs until stopped; here it gets a few
# seconds. Its report names each matching certificate by the SHA-256 of its public key, in
# hex: the same hash as an RFC 7469 pin, which is base64.


# %%
def certspotter_report(log_list_file, seconds=20.0, until=lambda text: False):
    """Run certspotter on ``log_list_file`` until ``until(output)`` or ``seconds``; return
    its output (report on stdout, complaints on stderr, merged)."""
    certspotter = tool("certspotter")
    if certspotter is None:
        return ""
    state = Path(tempfile.mkdtemp(dir=folder, prefix="certspotter-"))
    (state / "watchlist").write_text(f".{world.host}\n")
    command = [certspotter, "-logs", log_list_file, "-watchlist", state / "watchlist"]
    command += ["-state_dir", state / "state", "-stdout", "-verbose", "-no_save"]
    show(command)
    lines = []
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    reader = threading.Thread(target=lambda: lines.extend(process.stdout))
    reader.start()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not until("".join(lines)):
        time.sleep(0.2)
    process.terminate()  # certspotter saves its state and exits 0 on SIGTERM
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    reader.join(timeout=10)
    process.stdout.close()
    return "".join(lines)


def hex_key(pin):
    import base64

    return base64.b64decode(pin).hex()


def reported(text):
    """(public key hash, log URL) of each certificate certspotter reported."""
    keys = re.findall(r"Pubkey = ([0-9a-f]{64})", text)
    logs = re.findall(r"Log Entry = \d+ @ (\S+)", text)
    return list(zip(keys, logs, strict=True))


def rogue_everywhere(text):
    return {url for key, url in reported(text) if key == hex_key(rogue_key)} == set(
        live.log_urls().values()
    )


report = certspotter_report(folder / "live" / "loglist.json", until=rogue_everywhere)
found = reported(report)
for key, url in found:
    who = {hex_key(owner_key): "the owner's (expected)", hex_key(rogue_key): "NOT THE OWNER'S"}
    print(f"{url:<36} key {key[:16]}...  {who.get(key, 'unknown')}")

# %% [markdown]
# The owner's monitor expects only its own keys: every other key certspotter reports for
# `example.com` is a certificate the owner did not ask for. Here that is the rogue one,
# found in every log it was submitted to. CT does not stop the attacker; it makes the attack
# visible, so the owner can have the certificate revoked.

# %%
unexpected = {key for key, _ in found} - {hex_key(pin) for pin in world.monitor.expected_pins}
print("keys the owner did not expect:", unexpected or "none (certspotter not run?)")

# %% [markdown]
# Who vouches for that certificate: it chains to a public root through the compromised CA,
# which is why every browser's path validation accepts it, and why only the logs gave it away.

# %%
from simlab import charts

charts.trust_graph(world);

# %% [markdown]
# ## A log that lies is caught
#
# A monitor trusts no log. Here the scenario's three logs, which hold the same certificates,
# are served again: `argon` honestly, `nimbus` with a tree head whose root its entries do not
# hash to, and `yeti` with tree heads signed by a key that is not the one in the log list.
# (certspotter stamps its lines with this machine's clock, not the simulated one.)

# %%
mounts = {
    "argon": Mount(world.logs[0]),
    "nimbus": Mount(world.logs[1], lie=Lie.ROOT),
    "yeti": Mount(world.logs[2], lie=Lie.KEY),
}
liars = stack.enter_context(
    LogFront(mounts, roots=world.public_store.certificates, clock=lambda: live.at)
)
urls = {name: liars.url(name) for name in mounts}
(folder / "liars.json").write_text(json.dumps(log_list(world.logs, urls, timestamp=world.epoch)))


def both_accused(text):
    return urls["nimbus"] in text and "does not match" in text and "invalid signature" in text


complaints = certspotter_report(folder / "liars.json", until=both_accused)
for line in complaints.splitlines():
    if "does not match" in line or "invalid signature" in line:
        print(line)

# %% [markdown]
# ## openssl checks the embedded SCTs
#
# `openssl s_client -ct` asks for SCTs and checks each against the logs listed in
# `-ctlogfile`. It only does so once the chain itself verified, which is why the command
# also carries `-CAfile` (the roots a client of the scenario trusts).

# %%
openssl = tool("openssl")
statuses = []
if openssl is not None:
    (command,) = [c for c in live.commands() if c.server == "attacker" and c.argv[0] == "openssl"]
    print("$ " + command.line)
    result = subprocess.run(
        [openssl, *command.argv[1:]],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=30,
    )
    statuses = re.findall(r"SCT validation status: (\w+)", result.stdout)
    print(re.search(r"Verify return code: .*", result.stdout).group(0))
    print("SCT validation statuses:", statuses)

# %% [markdown]
# ## Exercises
#
# 1. How many valid SCTs does the rogue certificate carry? (a number)
# 2. Did those valid SCTs stop the attacker's certificate from working? (`True`/`False`)

# %%
answer_1 = None
answer_2 = None

# %%
check(
    answer_1,
    statuses.count("valid") if statuses else len(world.logs),
    hint="Count the 'valid' statuses openssl printed for the attacker's certificate. How many "
    "logs did the compromised CA submit its precertificate to?",
    explain="One per log: the compromised CA logged its precertificate, as CT demands.",
)
check(
    answer_2,
    False,
    hint="What does an SCT promise: that a certificate is legitimate, or that a log has it?",
    explain="SCTs prove a certificate was logged, not that it is legitimate: CT detects.",
)

# %%
stack.close()  # stops every server this notebook started and removes its files
print("servers stopped")
