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
# # CA compromise: DigiNotar, 2011
#
# A rogue `*.google.com` certificate was issued by DigiNotar on 10 July 2011 and used on-path
# in Iran. DigiNotar detected the intrusion on 19 July; an Iranian user posted Chrome's pin
# warning on 27 August; the certificate was made public and revoked on 29 August. Chrome's
# static pins for Google protected its users; browsers without pins were intercepted. At
# least 531 rogue certificates were issued; about 300,000 unique IPs queried OCSP for the
# Google certificate, over 99% from Iran (Fox-IT interim report, September 2011).
#
# `simlab replay diginotar-2011` runs the same story; here we look inside it. The clients
# are browsers (with a warning page users may click through), the site's app (no warning
# page; it may bundle pins) and legacy software such as `curl` or Java clients (no pins, no
# CT, no warning page); `00-tour` describes them.

# %%
import pandas as pd

import simlab
from simlab import charts
from simlab.runner import DEFENCES
from simlab.teaching import accepted_by_kind, check
from simlab.units import metrics_table

# %% [markdown]
# Each defence's metrics, times in hours (h) or days (d):

# %%
from simlab.replays import REPLAYS

replay = REPLAYS["diginotar-2011"]
runs = {d: simlab.run(replay.scenario, d, seed=0, **replay.params) for d in DEFENCES}
metrics_table(runs)

# %% [markdown]
# That is seed 0, one run. Each blocked Chrome visit is reported with a small chance
# (`user_report_prob`), a memoryless draw, so the day of the first report varies widely from
# seed to seed; the replay's chance is set so that its median lands near the real one:

# %%
from simlab.replays import first_report_days, report_spread

ended = replay.params["attack_start_day"] + replay.params["attack_days"]
spread = report_spread(first_report_days(replay, range(20)))
print(f"{spread[0].upper()}{spread[1:]} (the attack ended on day {ended:.0f}). "
      f"History: day 26 (27 August).")

# %% [markdown]
# Under the defences deployed at the time: Chrome had static pins, other browsers none.

# %%
accepted_by_kind(runs["static"])

# %%
accepted_by_kind(runs["none"])

# %%
charts.trust_graph(runs["static"].world);

# %% [markdown]
# The rogue certificate chains to a public root, so path validation succeeds everywhere.
# Only a pin on the site's own CA notices that the wrong CA vouched for it. Who noticed, and
# when? With static pins the first signal is a user reporting the warning.
#
# In August 2011 no browser noted HPKP headers (Chrome 38 added them in October 2014), so
# the `hpkp` column above is the same as `none`. What if the same attack had come in
# October 2016, when Chrome and Firefox noted HPKP? Browsers that already held the site's
# pins would block the rogue certificate, and a blocked browser sends an RFC 7469 violation
# report:

# %%
later = simlab.run(replay.scenario, "hpkp", seed=0, **{**replay.params, "era": "2016-10"})
metrics_table({"hpkp, clients of 2016-10": later})

# %% [markdown]
# ## At the incident's real size
#
# About 300,000 IPs asked DigiNotar's OCSP responder about the rogue certificate. The replay
# uses 1,000 clients so that it runs in a second; `simlab replay diginotar-2011 --param
# n_clients=300000` runs the real size (under a quarter of a minute). Here, 30 times the replay's
# clients, first with the same chance per blocked visit that someone reports Chrome's
# warning, then with that chance divided by 30:

# %%
def diginotar(n_clients, report_prob):
    params = {**replay.params, "n_clients": n_clients, "user_report_prob": report_prob}
    r = simlab.run(replay.scenario, "static", seed=0, **params)
    t = r.table
    attacker = t[t["responder"] == "attacker"]
    found = r.metrics["detection_time"]  # None: nobody reported, nothing was revoked
    revoked = r.world.attack_end if found is None else r.world.attack_start + found + 48 * 3600
    chrome = attacker[attacker["release"].str.startswith("Chrome")]
    others = attacker[~attacker["release"].str.startswith("Chrome") & (attacker["time"] < revoked)]
    return {
        "clients": n_clients,
        "first report (days)": None if found is None else round(found / 86400, 2),
        "clients intercepted": r.metrics["clients_affected"],
        "Chrome 13 refused": chrome["outcome"].eq("blocked").mean(),
        "others accepted before revocation": others["outcome"].eq("intercepted").mean(),
    }


p = replay.params["user_report_prob"]
scale = pd.DataFrame([diginotar(1_000, p), diginotar(30_000, p), diginotar(30_000, p / 30)])
scale

# %%
small, big, rare = scale.to_dict("records")
rates = ("Chrome 13 refused", "others accepted before revocation")
rates_held = all(abs(big[k] - small[k]) < 0.01 for k in rates)
print(
    f"Thirty times the clients, same chance per visit: the first report came after "
    f"{big['first report (days)']} days instead of {small['first report (days)']}, and "
    f"{big['clients intercepted']} clients were intercepted instead of "
    f"{small['clients intercepted']}. The rules' rates "
    + ("did not move" if rates_held else "moved")
    + f": Chrome 13 refused {big['Chrome 13 refused']:.0%} of the attacker's connections "
    f"(was {small['Chrome 13 refused']:.0%}); other browsers accepted "
    f"{big['others accepted before revocation']:.0%} until revocation reached them "
    f"(was {small['others accepted before revocation']:.0%}). With the chance divided by 30, "
    f"the first report came after {rare['first report (days)']} days: the real incident's "
    f"three weeks say that almost nobody who saw Chrome's warning reported it."
)

# %% [markdown]
# ## Exercises
#
# 1. In the 2016 run, browsers holding pins blocked the rogue certificate, yet no violation
#    report told the owner. Why? Answer `"a"` (the attacker is on the path to the report
#    collector too, and drops the reports), `"b"` (browsers send no report for a pin
#    failure) or `"c"` (no browser held pins).
# 2. In the 2016 run, which of the browsers that note HPKP (Chrome and Firefox then)
#    accepted the rogue certificate? Answer `"first-time"`
#    (they had never visited the real site before the attack), `"returning"`, `"both"` or
#    `"nobody"`.

# %%
answer_1 = None  # "a", "b" or "c"
answer_2 = None  # "first-time", "returning", "both" or "nobody"


# %%
def why_no_report():
    """Re-run with reports that always get through, and see what changes."""
    if later.metrics["detected_by"] == "hpkp_report":
        return "(the owner did get a report in this run)"
    free = simlab.run(replay.scenario, "hpkp", seed=0,
                      **{**replay.params, "era": "2016-10", "attacker_blocks_reports": False})
    if free.metrics["detected_by"] == "hpkp_report":
        return "a"
    pinned = later.table.query("kind == 'browser' and reason.str.startswith('pin_')")
    return "b" if len(pinned) else "c"


def who_was_intercepted():
    """Split the browsers that accepted the attacker by whether they had visited before."""
    r = later
    t = r.table
    noting = {c.release.name for c in r.world.clients if c.release.hpkp}
    hit = t[(t["responder"] == "attacker") & t["release"].isin(noting)]
    hit = set(hit[hit["outcome"].isin(["intercepted", "clicked_through"])]["client"])
    before = set(t[t["legit"] & (t["time"] < r.world.attack_start)]["client"])
    if not hit:
        return "nobody"
    return {(True, False): "first-time", (False, True): "returning"}.get(
        (bool(hit - before), bool(hit & before)), "both")


check(answer_1, why_no_report,
      hint="Where does a report travel, and who sits on that client's network? Try "
           "`simlab.run(..., attacker_blocks_reports=False)` and compare `detected_by`.",
      explain="An on-path attacker sees the reports go by and drops them: HPKP reporting is "
              "weakest exactly where the attack happens.")
check(answer_2, who_was_intercepted,
      hint="HPKP pins come from the site's own header. When could a browser have received it?",
      explain="HPKP protects only browsers that visited the real site before the attack and "
              "still hold unexpired pins; a first visit is trust on first use.")
