"""Historical incidents as scenario runs under the defences deployed at the time.

Each replay names the scenario, the parameters that tell the incident's story, the
defences actually deployed (the "historical" run) and the public sources of its dates and
counts. ``simlab replay NAME`` runs it under every defence, so a student sees what the
others would have changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["REPLAYS", "Replay"]


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
            "DigiNotar's rogue *.google.com",
            ("static", "none"),
            "Rogue certificate issued 10 July 2011; used on-path in Iran; an Iranian user posted "
            "Chrome's pin warning on 27 August; revoked 29 August. Chrome's static pins for Google "
            "protected its users; other browsers (no pinning) were intercepted. At least 531 "
            "rogue certificates; ~300,000 IPs queried OCSP for the Google cert, >99% from Iran.",
            {
                "attack_days": 50.0,
                "days": 60.0,
                "attack_start_day": 1.0,
                "user_report_prob": 0.01,
                "response_hours": 48.0,
            },
            (
                "Fox-IT, 'DigiNotar Certificate Authority breach: Operation Black Tulip', interim "
                "report, 5 September 2011",
            ),
        ),
        Replay(
            "smashing-magazine-2016",
            "key-loss",
            "Smashing Magazine's HPKP self-lock-out",
            ("hpkp",),
            "A renewed certificate with a new key was deployed on 21 October 2016 while browsers "
            "held pins with max-age=31536000; returning visitors were locked out for days. "
            "Browser caps (60 days) bound the theoretical exposure.",
            {"max_age_days": 365.0, "include_subdomains": True, "days": 90.0},
            ("https://www.smashingmagazine.com/be-careful-with-using-hpkp/",),
        ),
        Replay(
            "ransompkp-2016",
            "hpkp-ransom",
            "RansomPKP (Black Hat / DEF CON 24)",
            ("hpkp",),
            "After a server compromise the attacker pins keys only it holds, with the longest "
            "max-age and includeSubDomains; visitors in the window are locked out after recovery.",
            {"include_subdomains": True, "days": 90.0},
            ("Zadegan and Lester, Black Hat USA 2016 / DEF CON 24",),
        ),
        Replay(
            "symantec-thawte-2015",
            "ca-compromise",
            "Symantec/Thawte's unrequested google.com precertificate",
            ("ct",),
            "On 14 September 2015 Google found, in CT logs, an EV precertificate for google.com "
            "it never requested; Symantec first reported 23 test certificates, then 164 more over "
            "76 domains and 2,458 for unregistered domains. Here the misissued certificate is "
            "logged and the owner's monitor sees it.",
            {"rogue_logged": True, "attack_days": 7.0},
            ("https://security.googleblog.com/2015/09/improved-digital-certificate-security.html",),
        ),
    )
}
