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
# # Losing a key, and having it stolen
#
# **Key loss.** The server's key is destroyed on day 10 and the owner re-keys at once. With no
# pinning, nobody notices. With HPKP, every browser of the era that noted the old pins (Chrome
# and Firefox, in 2018) is locked out until its entry expires, up to max-age (60 days in
# Chrome), unless the owner still has the
# pinned backup key. Apps with bundled pins are locked out until an update ships and users
# install it. Smashing Magazine lived this in October 2016.
#
# **Key theft.** The attacker serves the *genuine* chain with the stolen key. Pins and CT see
# a genuine certificate, so only revocation and re-keying help, once the owner notices.

# %%
import matplotlib.pyplot as plt
import pandas as pd

import simlab
from simlab import charts
from simlab.runner import DEFENCES
from simlab.teaching import check
from simlab.units import metrics_table

# %% [markdown]
# Failed connections to the real site (a self-inflicted outage), and the longest lock-out of
# one client, with and without the pinned backup key:

# %%
loss = {(d, b): simlab.run("key-loss", d, seed=0, backup_key_survives=b)
        for d in ("none", "static", "hpkp", "ct") for b in (False, True)}
table = metrics_table({f"{d}, backup {'kept' if b else 'lost'}": r for (d, b), r in loss.items()},
                      index="defence, backup key")
table[["legit failure rate", "lockout duration", "clients affected"]]

# %%
frames = [loss[d, False].daily().reset_index().assign(scenario="key-loss", defence=d)
          for d in ("none", "static", "hpkp", "ct")]
charts.timeline(pd.concat(frames), "key-loss");

# %% [markdown]
# Move the controls to re-run the HPKP key-loss scenario and redraw the failures per day:

# %%
import ipywidgets as widgets


def key_loss(max_age_days=60, backup_key_survives=False, app_update_days=14,
             app_adoption_mean_days=7):
    r = simlab.run("key-loss", "hpkp", seed=0, max_age_days=float(max_age_days),
                   backup_key_survives=backup_key_survives)
    apps = simlab.run("key-loss", "static", seed=0, backup_key_survives=backup_key_survives,
                      app_update_days=float(app_update_days),
                      app_adoption_mean_days=float(app_adoption_mean_days))
    _, ax = plt.subplots(figsize=(7, 3))
    days = range(int(r.world.s.days))
    for name, res in (("HPKP browsers", r), ("apps with bundled pins", apps)):
        daily = res.table[res.table["legit"] & (res.table["outcome"] == "blocked")]
        ax.plot(daily.groupby("day").size().reindex(days, fill_value=0), label=name)
    ax.set_xlabel("day"); ax.set_ylabel("failed connections to the real site"); ax.legend()
    ax.set_title(f"Self-inflicted outage: max-age {max_age_days} d, "
                 f"backup key survives: {backup_key_survives}")
    plt.show()


widgets.interact(key_loss, max_age_days=(1, 60, 1), backup_key_survives=False,
                 app_update_days=(1, 60, 1), app_adoption_mean_days=(1, 60, 1));

# %% [markdown]
# The key thief, under each defence:

# %%
theft = {d: simlab.run("key-theft", d, seed=0) for d in DEFENCES}
metrics_table(theft)[["interception rate", "exposure window", "detected by"]]

# %% [markdown]
# ## Exercises
#
# 1. Suppose the site had sent `max-age` of 30 days instead of 60, and lost its key with no
#    backup. About how many days would the longest HPKP lock-out last? (within 10%)
# 2. Did any defence the site can deploy (static, hpkp, ct or hpkp+ct) stop the key thief?
#    (`True`/`False`)

# %%
answer_1 = None  # a number of days
answer_2 = None  # True or False


# %%
def lockout_days_with_max_age(days):
    r = simlab.run("key-loss", "hpkp", seed=0, max_age_days=float(days))
    return r.metrics["lockout_duration"] / 86400


def a_defence_stopped_the_thief():
    return any(r.metrics["interception_rate"] < 0.5 for d, r in theft.items() if d != "none")


check(answer_1, lambda: lockout_days_with_max_age(30), tolerance=0.1,
      hint="How long does a browser keep a pin set it noted? Try the max-age slider above.",
      explain="A browser keeps the pins for max-age after its last visit before the loss, so "
              "the longest lock-out seen is just under max-age.")
check(answer_2, a_defence_stopped_the_thief,
      hint="What does the thief serve: a certificate from the wrong CA, or the site's own?",
      explain="A stolen key and a genuine certificate pass pins and CT alike; only noticing, "
              "revoking and re-keying end it.")
