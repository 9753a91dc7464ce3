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
# # HPKP ransom (RansomPKP)
#
# Zadegan and Lester (Black Hat USA / DEF CON 24, 2016) showed, as a demonstration rather than
# an attack seen in the wild, that HPKP turns a short server compromise into a long outage:
# the attacker obtains a certificate, serves pins only it holds with the longest max-age,
# then deletes the keys and asks for a ransom. Browsers that visited during the window are
# locked out after the owner takes the server back, for up to max-age.
#
# The point that made it matter: every HPKP-capable browser notes any valid header it
# receives, so the attack hurts a site that **never deployed HPKP** (the `none` column
# below). Against a site that does pin, the attacker holds the server's live key, so it
# first pins that key plus its own (returning visitors accept it) and then rotates to its own.

# %%
from concurrent.futures import ThreadPoolExecutor

import matplotlib.pyplot as plt

import simlab
from simlab import charts
from simlab.runner import DEFENCES
from simlab.teaching import check
from simlab.units import metrics_table

# %%
runs = {d: simlab.run("hpkp-ransom", d, seed=0) for d in DEFENCES}
metrics_table(runs)

# %% [markdown]
# The same attack on a site that never pinned, against the clients of three months: while
# browsers noted HPKP, and after Chrome 72 (January 2019) and Firefox 72 (January 2020)
# stopped noting it.

# %%
from simlab.units import format_metric

for era in ("2016-10", "2019-06", "2020-06"):
    r = simlab.run("hpkp-ransom", "none", seed=0, era=era)
    t = r.table
    locked = sorted(set(t[t["legit"] & (t["outcome"] == "blocked")]["release"]))
    lockout = format_metric("lockout_duration", r.metrics["lockout_duration"])
    print(f"{era}: longest lock-out {lockout}; locked out: {', '.join(locked) or 'nobody'}")

# %% [markdown]
# How long the lock-out lasts depends on max-age. Each point is a run:

# %%
from simlab.sweep import parameter_sweep

swept = parameter_sweep("hpkp-ransom", "max_age_days", [1, 7, 30, 60], defences=["hpkp", "none"],
                        seeds=1, executor=ThreadPoolExecutor(max_workers=1), progress=False)
charts.parameter_chart(swept, "max_age_days", "lockout_duration");

# %%
import ipywidgets as widgets


def ransom(max_age_days=60, response_hours=48):
    r = simlab.run("hpkp-ransom", "hpkp", seed=0, max_age_days=float(max_age_days),
                   response_hours=float(response_hours))
    charts.timeline(r.daily().reset_index().assign(scenario="hpkp-ransom", defence="hpkp"),
                    "hpkp-ransom")
    plt.show()


widgets.interact(ransom, max_age_days=(1, 60, 1), response_hours=(1, 168, 1));

# %% [markdown]
# ## Exercises
#
# 1. Under `static` (pins in the browsers' preload list and in the site's app), are any
#    **app** users locked out of the real site after the owner takes it back?
#    (`True`/`False`)
# 2. Under `ct`, is the attacker's window shorter than under `none`? (`True`/`False`)

# %%
answer_1 = None  # True or False
answer_2 = None  # True or False


# %%
def apps_locked_out():
    t = runs["static"].table
    return bool((t["legit"] & (t["kind"] == "app") & (t["outcome"] == "blocked")).any())


def ct_window_is_shorter():
    return bool(runs["ct"].metrics["exposure_window"] < runs["none"].metrics["exposure_window"])


check(answer_1, apps_locked_out,
      hint="Where do an app's pins come from: the server's header, or the app's own code?",
      explain="Bundled pins never came from the attacker, so there is nothing to lock apps out.")
check(answer_2, ct_window_is_shorter,
      hint="The ransomer needs a new certificate. Who sees it when certificates are logged?",
      explain="The attacker's new certificate is logged, the monitor alerts, the owner acts.")
