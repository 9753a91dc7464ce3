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
# # Domain hijack
#
# The attacker takes over the registrar account, passes domain validation at another public
# CA (it controls the name now), and points DNS at itself. Sea Turtle (disclosed April 2019)
# did this to at least 40 organisations in 13 countries; it did not use HPKP. A hijacker
# could also send its own HPKP header, naming keys that only it holds (`hijacker_pins=True`),
# and every HPKP-capable browser of the era would note it.
#
# DNS answers every client, so the hijacker reaches browsers, the site's app and legacy
# software (`curl`, scripts, Java clients with no pins, no CT and no warning page) on every
# network alike; `00-tour` describes the three kinds.

# %%
import simlab
from simlab import charts
from simlab.runner import DEFENCES
from simlab.teaching import accepted_by_kind, check
from simlab.units import metrics_table

# %%
runs = {d: simlab.run("domain-hijack", d, seed=0) for d in DEFENCES}
metrics_table(runs)

# %%
accepted_by_kind(runs["hpkp"])

# %% [markdown]
# Now a hijacker that pins its own keys, against a site that never used HPKP: failures to
# reach the real site, per day. The owner recovers the domain when it responds to the first
# alert, or when the attack window ends:

# %%
pinning = simlab.run("domain-hijack", "none", seed=0, hijacker_pins=True)
t = pinning.table
days = range(int(pinning.world.s.days))
failed = t[t["legit"] & (t["outcome"] == "blocked")].groupby("day").size()
failed = failed.reindex(days, fill_value=0)
end = pinning.world.attack_end  # None: the hijack lasted to the run's end
hijack, recovered = pinning.world.attack_start / 86400, (end or len(days) * 86400) / 86400
ax = failed.plot(kind="bar", width=1.0, figsize=(8, 3), xlabel="day", ylabel="failed connections",
                 title=f"Failed connections to the real site (hijacker pins): hijacked on day "
                       f"{hijack:.0f}, recovered on day {recovered:.0f}")
ax.axvspan(hijack - 0.5, recovered - 0.5, color="0.85", zorder=0, label="domain hijacked")
ax.set_xticks(range(0, len(days), 5), [str(d) for d in days[::5]], rotation=0)
ax.legend(loc="upper left");

# %%
charts.network_graph(runs["ct"].world, runs["ct"].table);

# %% [markdown]
# ## Exercises
#
# 1. In the run with `hijacker_pins=True` above, the clients that fail to reach the real site
#    after the owner recovers: are they browsers that visited **during** the hijack, or
#    browsers whose first visit came **after** it? Answer `"during"`, `"after"` or `"both"`.
# 2. With `hijacker_pins=True` but in the web of 2020-06 (`era="2020-06"`), is anyone locked
#    out of the real site? (`True`/`False`)

# %%
answer_1 = None  # "during", "after" or "both"
answer_2 = None  # True or False


# %%
def who_is_locked_out():
    r = pinning
    t = r.table
    locked = set(t[t["legit"] & (t["outcome"] == "blocked")
                   & (t["time"] >= r.world.attack_end)]["client"])
    during = set(t[(t["responder"] == "attacker")
                   & t["outcome"].isin(["intercepted", "clicked_through"])]["client"])
    if not locked:
        return "(nobody in this run)"
    return {(True, False): "during", (False, True): "after"}.get(
        (bool(locked & during), bool(locked - during)), "both")


def locked_out_in_2020():
    later = simlab.run("domain-hijack", "none", seed=0, hijacker_pins=True, era="2020-06")
    return bool(later.metrics["legit_failure_rate"] > 0)


check(answer_1, who_is_locked_out,
      hint="To be locked out, a browser must hold pins that the owner's real keys do not "
           "match. Where could it have noted such pins?",
      explain="Browsers that accepted the hijacker's site noted its header and now refuse the "
              "owner's real keys until max-age runs out.")
check(answer_2, locked_out_in_2020,
      hint="Which browsers of June 2020 still noted an HPKP header? See the release table in "
           "the README, or simlab.clients.population('2020-06').",
      explain="Chrome 72 and Firefox 72 had dropped HPKP: nobody notes the hijacker's pins.")
