"""One handle on marlform's state: home folder, database, bundle store, per-deployment config.

Every command opens a Workspace first; opening also repairs what a crashed run
left behind (`recover`), so "rerun the command" is always the recovery step.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from marlform import audit
from marlform.bundlestore import BundleStore, bundle_store, open_bundle
from marlform.config import DeploymentConfig, load_config
from marlform.home import Home
from marlform.store import Store


@dataclass
class Workspace:
    home: Home
    store: Store
    bundles: BundleStore
    _configs: dict[str, DeploymentConfig] = field(default_factory=dict)

    @classmethod
    def open(cls, home: str | Path | None = None, store_url: str | None = None) -> Workspace:
        resolved = Home.resolve(home)
        ws = cls(resolved, Store(resolved), bundle_store(store_url, resolved.plans))
        ws.recover()
        return ws

    def close(self) -> None:
        self.store.close()

    def config(self, deployment: str) -> DeploymentConfig:
        if deployment not in self._configs:
            self._configs[deployment] = load_config(self.home.config_file(deployment))
        return self._configs[deployment]

    def bundle_path(self, uri: str) -> Path:
        return open_bundle(uri, self.home.plans)

    def recover(self) -> list[str]:
        """Clean up after a crash: unfinished or unrecorded bundles, and a lagging audit anchor.

        Plans left in `applying` are not touched here: they need the deployment
        lock and the backend, and `marlform apply` resumes them.
        """
        recorded = {r[0] for r in self.store.conn.execute("SELECT id FROM plans")}
        actions = self.bundles.recover(recorded)
        if actions:
            with self.store.transaction() as tx:
                tx.audit(audit.Entry("recovery", "system", "*", payload={"actions": actions}))
        return actions
