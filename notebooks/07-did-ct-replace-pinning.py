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
# # Did CT replace pinning "without compromising the quality of service"?
#
# The claim to test: Certificate Transparency "will effectively replace the certificate
# pinning without compromising the quality of service".
#
# What browser makers said when they removed HPKP: Chrome's intent to deprecate (Chris
# Palmer, blink-dev, 27 October 2017) gave three reasons: low adoption, the risk that sites
# make themselves unusable, and hostile pinning (a RansomPKP attacker pinning keys only it
# holds). It recommended the Expect-CT header, and CT monitoring, to *detect* misissuance.
# Chrome 72 (January 2019) and Firefox 72 (January 2020) dropped HPKP; both kept their
# built-in static pins. Expect-CT was the bridge until CT was required of every certificate.
#
# So we compare two webs, each with the clients of its month (their browser and app
# releases, from `simlab/data/clients.toml`) and the deployment a careful site used then:

# %%
import pandas as pd

import simlab
from simlab import clients, verdict
from simlab.teaching import check
from simlab.units import format_metric

for web in verdict.WEBS:
    mix = clients.population(web.era)["browser"]
    browsers = ", ".join(f"{r.name} {share:.0%}" for r, share in mix)
    print(f"{web.label} ({web.era}), the site deploys '{web.defence}'. Browsers: {browsers}")

# %% [markdown]
# Every scenario in both webs, two seeds each: protection (the share of the attacker's
# connections that clients accepted) and quality of service (the share of connections to the
# real site that failed, and the longest lock-out). Runs take a few seconds.

# %%
table = verdict.compare_webs(seeds=2, workers=2)
shown = table.groupby(["scenario", "web"], sort=False)[
    ["interception_rate", "legit_failure_rate", "lockout_duration"]
].mean()
shown.assign(
    # n/a: no attacker connection to count (key-loss has no attacker)
    interception_rate=shown["interception_rate"].map("{:.0%}".format, "ignore").fillna("n/a"),
    legit_failure_rate=shown["legit_failure_rate"].map("{:.1%}".format, "ignore").fillna("n/a"),
    lockout_duration=shown["lockout_duration"].map(lambda s: format_metric("lockout_duration", s)),
).unstack("web")

# %%
from simlab import charts

charts.web_bars(table);

# %% [markdown]
# What the data says, computed from the table above (a different table gives different
# sentences; `simlab/verdict.py` states the rule: a difference counts only if it is larger
# than 2 points of interception, 0.2 points of failures, and the spread between seeds):

# %%
for line in verdict.conclusions(table):
    print(line)

# %% [markdown]
# ## Why: five nuances, each measured
#
# **CT detects; it does not prevent.** In the CT era, a CA-compromise attacker logs its rogue
# certificate (Chrome would warn otherwise). The owner's monitor sees it quickly, but clients
# keep accepting it until revocation reaches them.

# %%
ca = simlab.run("ca-compromise", "ct", seed=0, era="2020-06")
t = ca.table
accepted = t[(t["responder"] == "attacker") & t["outcome"].isin(["intercepted", "clicked_through"])]
last = accepted["time"].max() - ca.world.attack_start
detected = format_metric("detection_time", ca.metrics["detection_time"])
print(
    f"Detected by {ca.metrics['detected_by']} after {detected}; the last accepted "
    f"interception came {format_metric('exposure_window', last)} after the attack began."
)

# %% [markdown]
# **Revocation is weak against an on-path attacker.** Chrome's CRLSet is pushed to the browser;
# an OCSP soft-fail browser asks the CA, and the attacker on its path drops the question.

# %%
by_release = (
    t[t["responder"] == "attacker"]
    .groupby("release")["outcome"]
    .apply(lambda o: o.isin(["intercepted", "clicked_through"]).mean())
)
for release, share in by_release.items():
    print(f"{release}: {share:.0%} of the attacker's connections accepted")

# %% [markdown]
# **A monitor helps only if someone watches it.** The same attack against a site that deploys
# nothing: the rogue certificate is just as logged, and nobody looks.

# %%
unwatched = simlab.run("ca-compromise", "none", seed=0, era="2020-06")
print("detected by:", unwatched.metrics["detected_by"] or "nobody")

# %% [markdown]
# **Clients check SCTs but do not gossip.** A log that shows one tree to the owner's monitor and
# another to clients (a split view, notebook 06) is caught only when someone compares tree
# heads; browsers never did, so an SCT is a promise that clients cannot check alone.
#
# **Apps still pin.** Static pins outlived HPKP: browsers kept their built-in list and apps
# kept bundled pins. In the CT era, the site's app with bundled pins against the rogue CA:

# %%
static = simlab.run("ca-compromise", "static", seed=0, era="2020-06")
a = static.table
apps = a[(a["responder"] == "attacker") & (a["kind"] == "app")]
share = apps["outcome"].eq("intercepted").mean()
print(f"apps accepted {share:.0%} of the attacker's connections")

# %% [markdown]
# **And HSTS, not CT, is what takes the "proceed anyway" button away.** In the CT era, a
# man-in-the-middle with an untrusted certificate, against a site without and with HSTS:

# %%
for hsts in (False, True):
    r = simlab.run("mitm", "ct", seed=0, era="2020-06", hsts=hsts)
    rate = r.metrics["interception_rate"]
    print(f"hsts={hsts}: {rate:.0%} of the attacker's connections accepted")

# %% [markdown]
# ## Exercises
#
# 1. Give both webs HSTS (`verdict.compare_webs(seeds=2, workers=2, hsts=True)`). Does the
#    CT era still let the attacker in more often in the `mitm` scenario? (`True`/`False`)
# 2. CT can cost service too. In the CT era, with the owner's certificates carrying a single
#    SCT (`owner_scts=1`), in how many scenarios does any connection to the real site fail?
#    (a number)

# %%
answer_1 = None  # True or False
answer_2 = None  # a number


# %%
def mitm_still_worse_with_hsts() -> bool:
    with_hsts = verdict.compare_webs(seeds=2, workers=2, hsts=True)
    hpkp_era, ct_era = (web.label for web in verdict.WEBS)
    return "mitm" in verdict.better_in(with_hsts, "interception_rate", hpkp_era, ct_era)


def ct_outage_scenarios_with_one_sct() -> int:
    one_sct = verdict.compare_webs([verdict.WEBS[1]], seeds=1, workers=2, owner_scts=1)
    return int(one_sct[one_sct["legit_failure_rate"] > 0]["scenario"].nunique())


check(
    answer_1,
    mitm_still_worse_with_hsts,
    hint="Which mechanism made the HPKP era's mitm errors fatal for returning visitors? Once "
    "both sites send HSTS, what is left to tell the two webs apart for a returning visitor?",
    explain="HSTS makes every certificate error fatal for a returning visitor in both webs; what "
    "is left are first visits, which click through in both.",
)
check(
    answer_2,
    ct_outage_scenarios_with_one_sct,
    hint="Chrome 83 requires 2 or 3 SCTs of every new certificate. Which scenarios have the "
    "owner serve its own certificate to Chrome users at all?",
    explain="Every scenario where Chrome users reach the owner's one-SCT certificate fails CT: "
    "a warning they may click through, and a failure for those who do not.",
)

# %% [markdown]
# ## Your turn
#
# Change the webs and run the comparison again: an HPKP era site that also had static pins
# (`verdict.Web("HPKP era", "2017-06", "static")`), the 2018-10 overlap where Chrome noted
# HPKP and required CT, or a CT-era site with HSTS preloaded. The conclusions above are
# recomputed from whatever you run: the data, not this notebook, answers the claim.

# %%
pd.DataFrame(verdict.WEBS)
