"""A per-deployment lock that serialises `plan` and `apply` on one deployment.

An exclusive `flock` on `$MARLFORM_HOME/locks/<deployment>.lock`. The kernel
drops it when the holder dies, so a crashed run never leaves a stale lock.
The holder writes who it is into the file, so a refused run can say who holds
the lock and since when.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from marlform.audit import now
from marlform.errors import LockedError


@contextmanager
def deployment_lock(locks_dir: Path, deployment: str, command: str,
                    wait_s: float = 0.0) -> Iterator[None]:
    path = locks_dir / f"{deployment}.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LockedError(_held_message(path, deployment)) from None
                time.sleep(0.1)
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps({"pid": os.getpid(), "command": command, "since": now()}).encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
    finally:
        os.close(fd)  # releases the flock


def _held_message(path: Path, deployment: str) -> str:
    try:
        holder = json.loads(path.read_text() or "{}")
    except ValueError:
        holder = {}
    who = (f"`marlform {holder.get('command', '?')}` (pid {holder.get('pid', '?')}, "
           f"since {holder.get('since', '?')})") if holder else "another marlform run"
    return (f"deployment {deployment!r} is locked by {who}; plans and applies on one deployment "
            "run one at a time. Wait for it to finish, or pass --wait SECONDS.")
