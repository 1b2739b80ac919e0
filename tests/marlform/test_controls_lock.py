"""Kill switch, overrides, rate limits, and the per-deployment lock across processes."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from gcp.errors import SpecError
from gcp.spec import load_spec
from marlform.controls import apply_overrides, check_rate, ensure_running, pause, set_override
from marlform.errors import LockedError, RefusedError
from marlform.lock import deployment_lock
from tests.marlform.conftest import WEB_APP


def test_pause_blocks_one_deployment_or_all(ws):
    ensure_running(ws, "shop-web", "plans")
    pause(ws, "shop-web", "alice", "incident 42")
    with pytest.raises(RefusedError, match=r"paused by alice .*incident 42.*marlform resume shop-web"):
        ensure_running(ws, "shop-web", "plans")
    ensure_running(ws, "other", "plans")
    pause(ws, "shop-web", "alice", None, paused=False)
    pause(ws, "*", "bob", "freeze")
    with pytest.raises(RefusedError, match="all deployments are paused"):
        ensure_running(ws, "other", "applies")
    assert [e["kind"] for e in ws.store.audit_entries()] == ["pause", "resume", "pause"]


def test_overrides_pin_fields_and_report_what_they_undid(ws):
    spec = load_spec(WEB_APP)
    set_override(ws, spec, "services[api].replicas.min", "4", "alice", "launch week")
    set_override(ws, spec, "network.tier", "STANDARD", "alice", None)
    pinned = {p: o["value"] for p, o in ws.store.overrides("shop-web").items()}
    assert pinned == {"services[api].replicas.min": 4, "network.tier": "STANDARD"}
    after, changed = apply_overrides(spec, pinned)
    assert after.service("api").replicas.min == 4 and after.network.tier == "STANDARD"
    assert after.service("api").replicas.target == 4  # moved inside the pinned bounds
    assert {"path": "services[api].replicas.min", "agents_chose": 2, "override": 4} in changed


@pytest.mark.parametrize(("path", "value", "rule"), [
    ("services[nope].replicas.min", "1", "override.path"),
    ("services[api].replicas.max", "1", "replicas.order"),
    ("network.tier", "GOLD", "schema.literal_error"),
])
def test_bad_overrides_name_the_problem(ws, path, value, rule):
    with pytest.raises(SpecError) as err:
        set_override(ws, load_spec(WEB_APP), path, value, "alice", None)
    assert err.value.issues[0].rule == rule


def test_rate_limit_counts_agent_decisions_in_the_audit_log(ws):
    from marlform.audit import Entry

    for _ in range(3):
        check_rate(ws, "shop-web", ("plan",), 3, "plans", "agent:rules")
        with ws.store.transaction() as tx:
            tx.audit(Entry("plan", "agent:rules", "shop-web"))
    with pytest.raises(RefusedError, match="3 plans for 'shop-web' in the last hour, limit 3"):
        check_rate(ws, "shop-web", ("plan",), 3, "plans", "agent:rules")
    assert ws.store.audit_entries(kind="rate_limited")[-1]["actor"] == "agent:rules"


def test_lock_is_exclusive_across_processes_and_freed_by_death(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        from pathlib import Path
        from marlform.lock import deployment_lock
        with deployment_lock(Path({str(tmp_path)!r}), "shop-web", "apply shop-web-1"):
            print("held", flush=True)
            time.sleep(60)
    """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with (pytest.raises(LockedError, match=r"locked by `marlform apply shop-web-1` \(pid \d+"),
              deployment_lock(tmp_path, "shop-web", "plan")):
            pass
        with deployment_lock(tmp_path, "other", "plan"):
            pass
    finally:
        holder.kill()
        holder.wait()
    with deployment_lock(tmp_path, "shop-web", "plan", wait_s=2):
        pass
