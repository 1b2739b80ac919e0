"""Where published bundles live: the local plans folder (default) or a GCS bucket.

Both publish a staged bundle so that readers see all of it or none of it:
locally by renaming the staging folder into place, on GCS by uploading every
file first and `manifest.json` last (a bundle without a manifest does not
exist). Both also clean up after a crash (`recover`): staging leftovers and
manifest-less uploads are deleted, complete bundles that the database never
recorded are moved aside as orphans. Reading from GCS downloads a fresh copy
every time, so a file changed in the bucket is caught by the hash check.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Protocol

from marlform.bundle import MANIFEST, ORPHANS, STAGING, fsync_dir
from marlform.errors import NotFoundError

STORE_ENV = "MARLFORM_STORE"


class BundleStore(Protocol):
    #: Where bundles are staged before publishing (same filesystem as the target when local).
    staging_root: Path

    def publish(self, staging: Path, plan_id: str) -> str:
        """Make the staged bundle visible; returns its URI for the database."""
        ...

    def recover(self, recorded: set[str]) -> list[str]:
        """Remove half-published bundles and set aside unrecorded ones; returns what it did."""
        ...


class LocalBundleStore:
    def __init__(self, plans_dir: Path):
        self.plans_dir = plans_dir
        self.staging_root = plans_dir

    def publish(self, staging: Path, plan_id: str) -> str:
        target = self.plans_dir / plan_id
        os.rename(staging, target)  # atomic on one filesystem; fails if the id exists
        fsync_dir(self.plans_dir)
        return str(target)

    def recover(self, recorded: set[str]) -> list[str]:
        done = clear_staging(self.staging_root)
        for folder in sorted(self.plans_dir.iterdir()):
            if folder.name.startswith(".") or not folder.is_dir() or folder.name in recorded:
                continue
            orphans = self.plans_dir / ORPHANS
            orphans.mkdir(exist_ok=True)
            os.rename(folder, orphans / folder.name)
            done.append(f"moved bundle {folder.name}, never recorded in the database, to {ORPHANS}/")
        return done


class GcsBundleStore:
    """Bundles under gs://BUCKET/PREFIX/<plan-id>/; honours STORAGE_EMULATOR_HOST for tests."""

    def __init__(self, url: str, cache_dir: Path):
        bucket, _, prefix = url.removeprefix("gs://").partition("/")
        if not bucket:
            raise NotFoundError(f"--store {url!r}: expected gs://BUCKET[/PREFIX]")
        self.url, self.bucket_name, self.prefix = url.rstrip("/"), bucket, prefix.strip("/")
        self.cache_dir = cache_dir
        self.staging_root = cache_dir.parent

    def _bucket(self):
        from google.cloud import storage

        if os.environ.get("STORAGE_EMULATOR_HOST"):
            from google.auth.credentials import AnonymousCredentials

            client = storage.Client(project="marlform-local", credentials=AnonymousCredentials())
        else:
            client = storage.Client()
        return client.bucket(self.bucket_name)

    def _key(self, plan_id: str, name: str = "") -> str:
        return "/".join(p for p in (self.prefix, plan_id, name) if p)

    def publish(self, staging: Path, plan_id: str) -> str:
        bucket = self._bucket()
        names = sorted(p.name for p in staging.iterdir() if p.name != MANIFEST)
        for name in [*names, MANIFEST]:
            bucket.blob(self._key(plan_id, name)).upload_from_filename(str(staging / name))
        shutil.rmtree(staging)
        return f"gs://{self.bucket_name}/{self._key(plan_id)}"

    def fetch(self, uri: str) -> Path:
        """Download a bundle into a fresh local folder for reading and verification."""
        plan_id = uri.rstrip("/").rsplit("/", 1)[-1]
        bucket = self._bucket()
        blobs = list(bucket.list_blobs(prefix=self._key(plan_id) + "/"))
        if not any(b.name.endswith("/" + MANIFEST) for b in blobs):
            raise NotFoundError(f"bundle {uri} is not in the bucket (or was never finished)")
        target = self.cache_dir / plan_id
        if target.exists():
            shutil.rmtree(target)
        target.mkdir(parents=True)
        for blob in blobs:
            blob.download_to_filename(str(target / blob.name.rsplit("/", 1)[-1]))
        return target

    def recover(self, recorded: set[str]) -> list[str]:
        done = clear_staging(self.staging_root)
        bucket = self._bucket()
        by_plan: dict[str, list] = {}
        base = self._key("")
        for blob in bucket.list_blobs(prefix=f"{base}/" if base else None):
            rest = blob.name[len(base) + 1:] if base else blob.name
            plan_id, _, _ = rest.partition("/")
            if plan_id != ORPHANS:
                by_plan.setdefault(plan_id, []).append(blob)
        for plan_id, blobs in sorted(by_plan.items()):
            complete = any(b.name.endswith("/" + MANIFEST) for b in blobs)
            if complete and plan_id in recorded:
                continue
            for blob in blobs:
                if complete:
                    bucket.copy_blob(blob, bucket, blob.name.replace(
                        self._key(plan_id), self._key(f"{ORPHANS}/{plan_id}"), 1))
                blob.delete()
            done.append(f"{'moved unrecorded' if complete else 'deleted unfinished'} bundle "
                        f"{plan_id} in {self.url}")
        return done


def clear_staging(root: Path) -> list[str]:
    staging = root / STAGING
    done = []
    for leftover in sorted(staging.glob("*")) if staging.exists() else []:
        shutil.rmtree(leftover)
        done.append(f"removed unfinished bundle {leftover.name} from {staging}")
    return done


def bundle_store(url: str | None, plans_dir: Path) -> BundleStore:
    url = url or os.environ.get(STORE_ENV)
    if url and url.startswith("gs://"):
        return GcsBundleStore(url, plans_dir / ".cache")
    if url:
        return LocalBundleStore(Path(url).expanduser().resolve())
    return LocalBundleStore(plans_dir)


def open_bundle(uri: str, plans_dir: Path) -> Path:
    """A local folder holding the bundle that `uri` names (downloaded when it is on GCS)."""
    if uri.startswith("gs://"):
        bucket_and_prefix = uri.rsplit("/", 1)[0]
        return GcsBundleStore(bucket_and_prefix, plans_dir / ".cache").fetch(uri)
    path = Path(uri)
    if not (path / MANIFEST).exists():
        raise NotFoundError(f"bundle folder {path} is missing or has no {MANIFEST}")
    return path
