"""What each run parameter means, in a sentence a teacher can read aloud.

``simlab show`` prints these beside each parameter's default and range, so a teacher can
change a scenario without reading :class:`simlab.world.Settings`. A test asserts that every
field of ``Settings`` has a meaning here, so a new setting cannot arrive unexplained.
"""

from __future__ import annotations

__all__ = ["MEANINGS", "meaning"]

MEANINGS: dict[str, str] = {
    "domain": "the site's DNS name, on every certificate, pin and header",
    "days": "how long the run lasts, in simulated days",
    "n_clients": "how many clients (people's browsers, apps and other software) visit the site",
    "browser_share": "share of clients that are web browsers (users may click through warnings)",
    "app_share": (
        "share of clients that are the site's mobile app (no warnings to click; may bundle pins)"
    ),
    "visit_prob": "chance that a client visits the site on a given day",
    "new_visitor_share": (
        "share of clients whose first visit falls during the run (they hold no pins before it)"
    ),
    "click_through": "chance that a browser user clicks through a certificate warning",
    "access_networks": "how many access networks (ISPs, Wi-Fi) the clients are spread over",
    "attacker_network": (
        "where an on-path attacker sits: one access network (isp-N) or the exchange (ix), "
        "which is on every client's route"
    ),
    "attack_start_day": (
        "the simulated day the attack (or, in key-loss, the loss of the key) starts; "
        "must be before the run ends"
    ),
    "attack_days": "how long the attacker keeps its position, in days, unless caught sooner",
    "max_age_days": (
        "how long a browser keeps an HPKP pin set after it last saw the header, in days"
    ),
    "backup_key_survives": (
        "whether the owner still holds the pinned backup key after losing its key"
    ),
    "include_subdomains": "whether the site's HPKP header also pins every subdomain",
    "preload": "browsers ship the site's pins in their preload list (set by the defence)",
    "app_pins": "the site's app bundles pins (set by the defence)",
    "hpkp": "the site sends an HPKP header with a backup pin (set by the defence)",
    "ct": "the site's certificates are logged and its owner runs a CT monitor (set by the defence)",
    "monitor_interval_hours": "how often the owner's CT monitor reads the logs, in hours",
    "merge_delay_hours": "how long a CT log takes to add a submitted certificate, in hours",
    "mmd_hours": "the longest a CT log promises to take to add a certificate (its MMD), in hours",
    "response_hours": (
        "how long the owner takes to act (revoke, recover) after the first alert, in hours"
    ),
    "attacker_blocks_reports": "whether an on-path attacker drops its victims' pin-failure reports",
    "user_report_prob": (
        "chance that a user who sees a pin failure reports it to the owner (e.g. on a forum)"
    ),
    "rogue_logged": (
        "whether the attacker logs its rogue certificate in CT; none: it logs exactly when "
        "the era's clients would otherwise warn or refuse"
    ),
    "rogue_used": (
        "whether the misissued certificate is served at all (false: a test certificate "
        "nobody uses, as Symantec's in 2015)"
    ),
    "hijacker_pins": (
        "whether a domain hijacker also sends its own HPKP header, pinning keys only it holds "
        "(Sea Turtle did not)"
    ),
    "app_update_days": "how long a new app release with new pins takes to ship, in days",
    "app_adoption_mean_days": "how long users take on average to install an app update, in days",
    "browser_release_days": (
        "days between browser releases, each with a fresh preload list of static pins"
    ),
    "stale_browser_share": "share of browsers that never update, keeping an old preload list",
    "theft_noticed_days": (
        "in key-theft, how many days pass before the owner notices the theft and acts on it"
        " (revokes and re-keys at once: response_hours does not apply); a theft that ended"
        " before is still noticed then"
    ),
    "ocsp_blockable": (
        "whether an on-path attacker drops its victims' OCSP queries (soft-fail then accepts)"
    ),
    "revocation_push_days": (
        "days from a CA's revocation until pushed lists (Chrome's CRLSet, Firefox's CRLite "
        "and OneCRL) carry it to browsers"
    ),
    "era": (
        "the month (YYYY-MM) whose browser and app releases make up the clients "
        "(simlab/data/clients.toml)"
    ),
    "hsts": ("the site sends HSTS, so browsers that saw it make every certificate error fatal"),
    "hsts_preload": (
        "the site is on the browsers' HSTS preload list: HSTS from the first visit, while the"
        " browser's build is timely (Chrome 70 days, Firefox 18 weeks)"
    ),
    "owner_scts": (
        "how many SCTs the owner's certificates embed (0-3); none: 3 where the site deploys "
        "CT or the era's CAs logged everything, else 0"
    ),
    "rekey_scts": (
        "how many SCTs the certificate obtained after a re-key embeds (0-3); none: as "
        "owner_scts. Fewer than the policy asks is an Expect-CT misconfiguration"
    ),
    "log_distrusted_day": (
        "the day clients stop trusting the Google CT log (its SCTs no longer count); none: never"
    ),
    "old_key_kept": (
        "in key-loss, the old key was replaced, not destroyed: the owner returns to it once "
        "the lock-out is reported (Smashing Magazine)"
    ),
    "hpkp_report_uri": "whether the site's HPKP header names a report-uri for pin failures",
}
"""One plain-language meaning per setting."""


def meaning(name: str) -> str:
    """The meaning of setting ``name``, or an empty string if there is none."""
    return MEANINGS.get(name, "")
