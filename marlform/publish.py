"""Publish a plan: seal its bundle, make it visible, and record it with its audit entries.

The order is what makes crashes harmless: (1) the bundle is written and
sealed in staging, (2) published whole, (3) recorded in the database in one
transaction together with its decision, fallback and plan audit entries. A
crash before (3) leaves at most an unrecorded bundle, which the next run moves
aside; after (3) everything is there.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from marlform import audit
from marlform.bundle import stage_bundle
from marlform.crashpoints import crash_point
from marlform.store import PlanRecord
from marlform.workspace import Workspace


def publish_plan(ws: Workspace, record: PlanRecord, contents: dict[str, Any],
                 entries: list[audit.Entry]) -> PlanRecord:
    staging, manifest = stage_bundle(ws.bundles.staging_root, record.id, contents)
    uri = ws.bundles.publish(staging, record.id)
    crash_point("plan.bundle_published")
    record = replace(record, plan_hash=manifest.plan_hash, bundle_uri=uri)
    with ws.store.transaction() as tx:
        ws.store.insert_plan(tx, record)
        for entry in entries:
            tx.audit(replace(entry, plan_id=record.id))
        tx.audit(audit.Entry(
            "plan", f"agent:{record.policy_version}", record.deployment, record.id,
            policy_version=record.policy_version, action_hash=record.plan_hash,
            payload={"outcome": record.outcome, "stage": record.stage, "bundle": uri,
                     "impact": record.impact}))
    crash_point("plan.recorded")
    return record
