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
# Chrome announced HPKP's deprecation on 27 October 2017 and removed it in Chrome 72;
# Firefox disabled it by default in Firefox 72. The argument was that Certificate
# Transparency gives the same protection against misissuance without the risk of sites
# locking out their own users. Here is the data from every scenario under every defence:
# attacks stopped on one side, self-inflicted outages on the other.

# %%
from simlab import charts
from simlab.teaching import check

# %%
from simlab.sweep import compare

metrics, daily = compare(seeds=1, workers=2, progress=False)
charts.heatmap(metrics, "interception_rate");

# %%
charts.heatmap(metrics, "legit_failure_rate");

# %%
charts.heatmap(metrics, "detection_time");

# %% [markdown]
# The mean over all seven scenarios, per defence: how often the attacker got in, and how
# often connections to the real site failed.

# %%
summary = metrics.groupby("defence", sort=False)[["interception_rate", "legit_failure_rate"]]
summary.mean().map("{:.1%}".format)

# %% [markdown]
# ## Exercises
#
# 1. Is there a scenario where adding CT to HPKP (`hpkp+ct`) lets the attacker in less often
#    than `hpkp` alone? (`True`/`False`)
# 2. In how many scenarios does `ct` cause any self-inflicted outage (a failed connection to
#    the real site)? (a number)

# %%
answer_1 = None  # True or False
answer_2 = None  # a number


# %%
def ct_helps_hpkp_somewhere():
    rates = metrics.pivot_table(index="scenario", columns="defence", values="interception_rate")
    return bool((rates["hpkp+ct"] < rates["hpkp"] - 1e-9).any())


def ct_outage_scenarios():
    ct = metrics[metrics["defence"] == "ct"]
    return int(ct.groupby("scenario")["legit_failure_rate"].max().gt(0).sum())


check(answer_1, ct_helps_hpkp_somewhere,
      hint="Compare the hpkp and hpkp+ct columns of the interception heatmap, row by row. "
           "What does a browser that requires CT do with a certificate no log has seen?",
      explain="A browser that requires CT refuses a certificate that was never logged, such as "
              "a rogue CA's, even where it holds no pins yet.")
check(answer_2, ct_outage_scenarios,
      hint="Look at the ct column of the legit failure heatmap. What could make CT block the "
           "owner's own, logged certificate?",
      explain="CT never blocks the owner's own, logged certificate.")

# %% [markdown]
# What the data says: CT alone blocks unlogged rogue certificates and shortens every window it
# can see, and it causes **no** self-inflicted outage in any scenario. Pinning blocks more
# attacks outright (CA compromise, hijacks), but HPKP is the only defence that makes key
# loss, hijacks and ransoms lock real users out. No defence stops a stolen key or a
# user-installed root in browsers. So: CT replaced pinning's protection against
# *misissuance* without its outages; it did not replace pinning's *prevention*.
