"""A teacher's scenario script: how much does a slow owner response cost under CT?

Run it with:  simlab run examples/slow_response.py   (or: python examples/slow_response.py)
"""

import simlab

for hours in (6, 48, 144):
    result = simlab.run("hpkp-ransom", "ct", seed=0, response_hours=hours)
    days = result.metrics["exposure_window"] / 86400
    print(f"owner responds after {hours:>3} h -> attacker serves the site for {days:4.1f} days")
