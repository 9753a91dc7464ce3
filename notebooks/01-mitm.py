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
# # Man in the middle: an untrusted certificate, and a user-installed root
#
# An attacker on one access network (a hostile Wi-Fi, a rogue ISP) answers for the site.
#
# * With a **self-signed certificate**, path validation fails. Browsers show a warning that
#   users can click through, as MyEtherWallet's users did during the April 2018 BGP hijack.
#   Chromium makes the error fatal only for hosts with HSTS or pins
#   (`TransportSecurityState::ShouldSSLErrorsBeFatal`); apps show no warning at all.
# * With a **root the victims installed** (an enterprise inspection proxy, or malware),
#   validation succeeds. Browsers then skip pin and CT checks for locally installed roots;
#   apps with bundled pins do not.
#
# The clients are of three kinds (see `00-tour`): a **browser** shows a warning page a user
# may click through; the site's **app** has no warning page, and may bundle pins; **legacy**
# software (`curl`, OpenSSL scripts, Java clients) has no pins, no CT and no warning page: a
# certificate error fails it. Each client runs a release of the default era, October 2018.

# %%
import pandas as pd

import simlab
from simlab import charts
from simlab.runner import DEFENCES
from simlab.teaching import accepted_by_kind, check

# %%
defences = list(DEFENCES)
runs = {(s, d): simlab.run(s, d, seed=0) for s in ("mitm", "mitm-local-root") for d in defences}
metrics = pd.DataFrame([{"scenario": s, "defence": d, **r.metrics} for (s, d), r in runs.items()])
charts.heatmap(metrics, "interception_rate");

# %% [markdown]
# Who accepted the attacker, by kind of client, with no defence:

# %%
accepted_by_kind(runs["mitm", "none"])

# %% [markdown]
# And with static pins (the site is on the browsers' preload list, and its app bundles pins),
# per release: a pinned host's certificate errors are fatal only in the releases that
# enforce static pins (`clients.toml`: Chrome desktop and Firefox in 2018; Chrome for Android
# only from Chrome 106), so the others still click through.

# %%
accepted_by_kind(runs["mitm", "static"], by="release")

# %% [markdown]
# Now the user-installed root:

# %%
accepted_by_kind(runs["mitm-local-root", "static"])

# %%
charts.timeline(pd.concat([runs["mitm", d].daily().reset_index().assign(scenario="mitm", defence=d)
                           for d in defences]), "mitm");

# %% [markdown]
# ## Exercises
#
# 1. Under `mitm-local-root`, which defence kept **app** users safe? (a defence name)
# 2. Under `mitm` with the `ct` defence, what does a **browser** user on the attacker's
#    network see? Answer `"a"` (a hard failure, no way on), `"b"` (a warning they can click
#    through) or `"c"` (nothing: the page just loads).

# %%
answer_1 = None  # a defence name, e.g. "hpkp"
answer_2 = None  # "a", "b" or "c"


# %%
def app_safe_under():
    """The defence under which no app accepted the proxy's certificate."""
    safe = [d for d in defences
            if not accepted_by_kind(runs["mitm-local-root", d]).loc["app", "accepted"]]
    return safe[0] if len(safe) == 1 else " or ".join(safe)


def browser_sees():
    """What the ct run's browsers did with the attacker's certificate."""
    t = runs["mitm", "ct"].table.query("responder == 'attacker' and kind == 'browser'")
    outcomes = set(t["outcome"])
    if "clicked_through" in outcomes:
        return "b"
    return "c" if "intercepted" in outcomes else "a"


check(answer_1, app_safe_under,
      hint="Browsers skip pin checks for a root the user installed. Do apps, with their own "
           "bundled pins, make the same exception?",
      explain="Bundled app pins ignore the local root; browsers bypass their pins for it.")
check(answer_2, browser_sees,
      hint="In which order does a browser check things? Is CT consulted when path validation "
           "has already failed?",
      explain="CT is checked only after path validation succeeds; it leaves the warning as it "
              "was, and a share of users click through.")
