"""Starting Ray once, the same way for training, tuning and the RLlib baselines."""

from __future__ import annotations


def start_ray(address: str | None = None, num_cpus: int | None = None) -> bool:
    """Start a local Ray (or join the cluster at `address`) unless one already runs.

    Returns True when this call started it, so the caller shuts down only what it started.
    """
    import ray

    if ray.is_initialized():
        return False
    ray.init(
        address=address,
        num_cpus=None if address else num_cpus,
        include_dashboard=False,
        ignore_reinit_error=True,
        log_to_driver=False,
    )
    return True
