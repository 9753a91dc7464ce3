"""Historical incidents as scenario runs, in the era of the incident.

Each replay names the scenario, the parameters that tell the incident's story (its era, so
the clients are the software people ran then), the defences the site actually deployed
(the "historical" run), the public sources of its dates and counts, and the key facts a
run must reproduce (``tests/test_replays.py`` asserts them): who was protected, who
noticed, when, and what was lost. ``simlab replay NAME`` runs it under every defence, so a
student sees what the others would have changed.

Days are counted from the first day of the era's month.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from simlab.clock import DAY
from simlab.errors import SimlabError, shown
from simlab.runner import run

__all__ = ["REPLAYS", "Replay", "first_report_days", "median_report_day", "report_spread"]


@dataclass(frozen=True)
class Replay:
    name: str
    scenario: str
    title: str
    historical: tuple[str, ...]
    story: str
    params: dict[str, Any] = field(default_factory=dict)
    sources: tuple[str, ...] = ()


REPLAYS: dict[str, Replay] = {
    r.name: r
    for r in (
        Replay(
            "diginotar-2011",
            "ca-compromise",
            "DigiNotar's rogue *.google.com (2011)",
            ("static",),
            "A rogue *.google.com certificate, issued by the compromised DigiNotar on 10 July "
            "2011, was used on-path in Iran from about 4 August (day 3 here) until DigiNotar "
            "revoked it on 29 August (day 28), as Fox-IT's OCSP logs show; the run's attack "
            "ends there too. Chrome 13's static pins for Google refused it; Firefox, IE and "
            "Safari had none, and Safari on Mac OS X 10.6 checked no revocation for it either "
            "(OCSP and CRL were off by default but for EV certificates), so revocation never "
            "reached its users. An Iranian Chrome user posted the pin warning on 27 August (day "
            "26). Fox-IT later sized the attack from the OCSP logs: about 300,000 IPs, over 99% "
            "from Iran. In the run, user_report_prob is the chance that one blocked Chrome visit "
            "gets reported publicly, set so that the median first report over seeds falls near "
            "day 26; revocation follows a report by response_hours and stops the browsers that "
            "still asked DigiNotar's OCSP responder (the attacker did not block it). That chance "
            "is memoryless, so runs differ widely: over 20 seeds (0-19), nobody reported in 9 "
            "runs before the attack ended; in the others the first report came between day 3.9 "
            "and day 23.9; the median over all 20 is day 22.8 (history: day 26). The chance is "
            "per visit and calibrated at the replay's 1,000 clients: with more clients, scale "
            "it down in proportion, or the first report comes in hours (notebook 02).",
            {
                "era": "2011-08",
                "domain": "google.com",
                "days": 40.0,
                "attack_start_day": 3.0,
                "attack_days": 25.0,  # to the revocation on 29 August
                "n_clients": 1000,
                "browser_share": 1.0,
                "app_share": 0.0,
                "user_report_prob": 0.0025,
                "response_hours": 48.0,
                "ocsp_blockable": False,
                "rogue_logged": False,
            },
            (
                "Fox-IT, 'DigiNotar Certificate Authority breach: Operation Black Tulip', interim "
                "report, 5 September 2011",
                "Adam Langley, 'Public key pinning', imperialviolet.org, 4 May 2011 (pins in "
                "Chrome 13)",
                "Google Online Security Blog, 'An update on attempted man-in-the-middle "
                "attacks', 29 August 2011",
            ),
        ),
        Replay(
            "smashing-magazine-2016",
            "key-loss",
            "Smashing Magazine's HPKP self-lock-out (2016)",
            ("hpkp",),
            "Smashing Magazine sent 'Public-Key-Pins: ...; max-age=31536000; includeSubDomains' "
            "with no report-uri. On 21 October 2016 (day 20), when its certificate expired, it "
            "rolled to a new key whose pin returning visitors did not hold (the new header "
            "listed it, beside two of the old pins; the old header did not), so returning Chrome "
            "and Firefox visitors were locked out. Where shorter accounts say the new pin was "
            "missing from the header, this follows the article. No HPKP report could tell it "
            "(no report-uri); someone had to: in the run, a blocked visitor reports it with "
            "chance user_report_prob, and over 20 seeds (0-19) the first report came between "
            "day 20.1 and day 32.8, median day 21.6. It went back to a certificate for a pinned "
            "key after a few days, which let the returning visitors back in. simlab's model "
            "predicts that visitors who first came during the roll had noted the new key's pins "
            "and were then locked out in turn (HPKP has no clean way back); the article does not "
            "report it. Browsers' 60-day cap bounds the exposure of max-age=31536000.",
            {
                "era": "2016-10",
                "days": 60.0,
                "attack_start_day": 20.0,
                "max_age_days": 365.0,
                "include_subdomains": True,
                "hpkp_report_uri": False,
                "old_key_kept": True,
                "user_report_prob": 0.02,
                "response_hours": 72.0,
            },
            (
                "Mathias Biilmann Christensen (Netlify), 'Be Afraid Of HTTP Public Key Pinning "
                "(HPKP)', Smashing Magazine, 26 October 2016, "
                "https://www.smashingmagazine.com/be-afraid-of-public-key-pinning/",
            ),
        ),
        Replay(
            "ransompkp-2016",
            "hpkp-ransom",
            "RansomPKP, a demonstration (Black Hat / DEF CON 24, 2016)",
            ("none",),
            "A proof of concept, not an observed incident: after taking over a web server, the "
            "attacker obtains a DV certificate and sends HPKP pins only it holds, with the longest "
            "max-age and includeSubDomains. The site never used HPKP, yet every Chrome and "
            "Firefox of August 2016 notes the header, so the visitors of the attack window are "
            "locked out after recovery unless the attacker's key is ransomed back.",
            {"era": "2016-08", "include_subdomains": True, "days": 90.0, "max_age_days": 365.0},
            (
                "Bryant Zadegan and Ryan Lester, 'Abusing Bleeding Edge Web Standards for AppSec "
                "Glory', Black Hat USA 2016 (3 August 2016) and DEF CON 24 (RansomPKP)",
            ),
        ),
        Replay(
            "symantec-thawte-2015",
            "ca-compromise",
            "Symantec/Thawte's unrequested google.com precertificate (2015)",
            ("ct",),
            "On 14 September 2015 (day 13), at about 19:20 GMT, Symantec's Thawte issued an EV "
            "precertificate for google.com that Google never requested, and logged it in CT. "
            "Google found it through CT; its post of 18 September does not say when, and "
            "Symantec said it learned of it on 16 September. Here the owner's CT monitor sees "
            "it 1 h 40 min after issuance: that delay is the model's merge delay "
            "(merge_delay_hours) and monitor poll interval (monitor_interval_hours), not "
            "history. They were internal test certificates: nobody was intercepted. Symantec first "
            "reported 23 test certificates, then 164 more over 76 domains, plus 2,458 for "
            "unregistered domains. From 1 June 2016 Chrome required CT for every new Symantec "
            "certificate.",
            {
                "era": "2015-09",
                "domain": "google.com",
                "days": 30.0,
                "attack_start_day": 13 + (19 + 20 / 60) / 24,  # 14 September, 19:20 GMT
                "rogue_logged": True,
                "rogue_used": False,
            },
            (
                "Google Online Security Blog, 'Improved Digital Certificate Security', "
                "18 September 2015 (updated October 2015)",
                "Ryan Sleevi, 'Sustaining Digital Certificate Security', Google Online Security "
                "Blog, 28 October 2015",
            ),
        ),
    )
}


def first_report_days(replay: Replay, seeds: Iterable[int]) -> list[float | None]:
    """Each seed's day of the owner's first detection under the replay's historical defence
    (None: nobody noticed). A chance per visit (``user_report_prob``) is memoryless, so its
    first report spreads widely over seeds: a replay states the spread, not one seed's day."""
    days: list[float | None] = []
    for seed in seeds:
        r = run(replay.scenario, replay.historical[0], seed=seed, **replay.params)
        found = r.metrics["detection_time"]
        days.append(None if found is None else (r.world.attack_start + found) / DAY)
    return days


def median_report_day(days: Sequence[float | None]) -> float:
    """The median of :func:`first_report_days`, a run with no report counting as the latest
    (infinity if half the runs or more had none)."""
    _some(days)
    return float(statistics.median([math.inf if d is None else d for d in days]))


def report_spread(days: Sequence[float | None]) -> str:
    """What a replay's story says of :func:`first_report_days` over seeds 0 to n - 1."""
    _some(days)
    n, found = len(days), sorted(d for d in days if d is not None)
    seeds = f"over {n} seeds (0-{n - 1})"
    if not found:
        return f"{seeds}, nobody reported before the attack ended"
    between = f"between day {found[0]:.1f} and day {found[-1]:.1f}"
    median = median_report_day(days)
    if len(found) == n:
        return f"{seeds} the first report came {between}, median day {median:.1f}"
    most = (
        "no report (half the runs or more had none)" if math.isinf(median) else f"day {median:.1f}"
    )
    missing = n - len(found)
    return (
        f"{seeds}, nobody reported in {missing} run{'s' if missing > 1 else ''} before the "
        f"attack ended; in the others the first report came {between}; the median over all "
        f"{n} is {most}"
    )


def _some(days: Sequence[float | None]) -> None:
    """Refuse what is not :func:`first_report_days`' kind of list: days (finite numbers) or
    None, one seed or more."""
    if isinstance(days, str) or not isinstance(days, Sequence) or not days:
        raise SimlabError(f"expected the first-report days of one seed or more, not {shown(days)}")
    for day in days:
        if day is not None and not (
            isinstance(day, int | float) and not isinstance(day, bool) and math.isfinite(day)
        ):
            raise SimlabError(f"a first-report day is a finite number or None, not {shown(day)}")
