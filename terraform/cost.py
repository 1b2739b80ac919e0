"""Monthly cost of a plan: before, after and the delta per spec resource, from gcp.pricing.

Prices come only from `gcp.pricing.price_spec` (the one price table), so the cost shown next to
a plan, the safety budget check and the simulator agree to the cent.
"""

from __future__ import annotations

import math
from typing import Any

from gcp.pricing import price_spec
from gcp.spec import DeploymentSpec


def plan_cost(spec_before: DeploymentSpec | None, spec_after: DeploymentSpec | None,
              owners: dict[str, str] | None = None) -> dict[str, Any]:
    """{currency, before, after, delta, resources: [{resource, before, after, delta, addresses}]}.

    `None` for a side means nothing deployed (a first plan, or a full teardown). `owners` (from
    `terraform.render.render_full(...).owners`) attaches the Terraform addresses of each resource.
    """
    reports = [price_spec(s) if s is not None else None for s in (spec_before, spec_after)]
    sides = [r.by_resource() if r else {} for r in reports]
    currency = next((r.currency for r in reports if r), "USD")
    by_owner: dict[str, list[str]] = {}
    for address, owner in (owners or {}).items():
        by_owner.setdefault(owner, []).append(address)
    rows = []
    for resource in sorted(set(sides[0]) | set(sides[1])):
        before, after = sides[0].get(resource, 0.0), sides[1].get(resource, 0.0)
        owner = "network" if resource.startswith("network/") else resource
        rows.append({"resource": resource, "before": round(before, 2), "after": round(after, 2),
                     "delta": round(after - before, 2), "addresses": sorted(by_owner.get(owner, []))})
    before_total = math.fsum(sides[0].values())
    after_total = math.fsum(sides[1].values())
    return {"currency": currency, "period": "month", "before": round(before_total, 2),
            "after": round(after_total, 2), "delta": round(after_total - before_total, 2),
            "resources": rows}
