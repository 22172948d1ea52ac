"""Where fitted images and headline cards wait for a platform to fetch them.

Instagram fetches ``image_url`` when the container is created and may publish the container up
to 24 hours later (PLATFORMS.md section 3.1); X's upload reads the object at posting time
(``adapters.x_upload`` fetches the item's URL when its path is not a local file).  So every
object stays readable for at least ``retention`` (24 h or more) after it was last saved, and
:meth:`MediaStore.sweep` removes what is older.

Two stores share the one interface:

- :class:`LocalMediaStore`: files in a folder, served by the API under ``/media``.  Fine for one
  host; several hosts would need a shared disk.
- :class:`S3MediaStore`: an S3-compatible bucket (AWS S3, MinIO, Ceph, R2 ...), so workers and
  schedulers on separate hosts share nothing but the bucket.  Platforms fetch either through
  ``public_base_url`` (a CDN or a public-read bucket) or, without one, through a presigned GET
  URL valid for the whole retention period.

Names are content addresses (``<sha256>.jpg``): saving the same image twice is one object, and
saving it again restarts its retention clock.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from adapters.base import MediaItem

#: Instagram's container lifetime: an object must outlive it.
MIN_RETENTION = timedelta(hours=24)
#: SigV4 presigned URLs are valid for at most 7 days.
MAX_PRESIGNED = timedelta(days=7)
#: S3's DeleteObjects takes at most this many keys per call.
DELETE_BATCH = 1000


def media_name(data: bytes) -> str:
    """The content address of ``data``."""
    return hashlib.sha256(data).hexdigest() + ".jpg"


class MediaStore(Protocol):
    """Stores JPEGs for platforms to fetch; keeps each one at least its retention period."""

    retention: timedelta

    def save_jpeg(self, data: bytes, *, width: int, height: int) -> MediaItem:
        """Store ``data`` (idempotent) and describe where platforms fetch it."""
        ...

    def sweep(self, *, now: datetime | None = None) -> int:
        """Remove objects saved longer than ``retention`` ago; return how many went."""
        ...


def _check_retention(retention: timedelta) -> timedelta:
    if retention < MIN_RETENTION:
        raise ValueError(
            f"media retention {retention} is shorter than Instagram's 24-hour container lifetime"
        )
    return retention


class LocalMediaStore:
    """Content-addressed JPEG files under ``root``, served at ``base_url``."""

    def __init__(self, root: Path, base_url: str, *, retention: timedelta = MIN_RETENTION) -> None:
        self.root = Path(root)
        self.base_url = base_url.rstrip("/")
        self.retention = _check_retention(retention)

    def save_jpeg(self, data: bytes, *, width: int, height: int) -> MediaItem:
        name = media_name(data)
        self.root.mkdir(parents=True, exist_ok=True)
        path = (self.root / name).resolve()
        if path.exists():
            os.utime(path)  # saved again: its retention starts over
        else:
            # Write then rename, so a platform never fetches a half-written file.
            fd, tmp = tempfile.mkstemp(dir=self.root, suffix=".part")
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)
        return MediaItem(url=f"{self.base_url}/{name}", path=str(path), width=width, height=height)

    def sweep(self, *, now: datetime | None = None) -> int:
        cutoff = ((now or datetime.now(UTC)) - self.retention).timestamp()
        removed = 0
        # Leftover ``.part`` files are writes that died before their rename.
        for path in [*self.root.glob("*.jpg"), *self.root.glob("*.part")]:
            try:
                if path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed += 1
            except FileNotFoundError:  # another replica's sweep got there first
                continue
        return removed


class S3MediaStore:
    """Content-addressed JPEG objects in an S3-compatible bucket.

    ``client`` is a boto3 S3 client (injected, so tests point it at a local S3 server).  With
    ``public_base_url`` the URL is ``{public_base_url}/{key}``; otherwise a presigned GET URL
    that stays valid for ``retention``.
    """

    def __init__(
        self,
        client: Any,
        *,
        bucket: str,
        prefix: str = "media/",
        public_base_url: str | None = None,
        retention: timedelta = MIN_RETENTION,
    ) -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix
        self.public_base_url = public_base_url.rstrip("/") if public_base_url else None
        self.retention = _check_retention(retention)
        if self.public_base_url is None and self.retention > MAX_PRESIGNED:
            raise ValueError(
                "media retention over 7 days needs a public media base URL: presigned S3 URLs "
                "are valid for at most 7 days"
            )

    def _url(self, key: str) -> str:
        if self.public_base_url:
            return f"{self.public_base_url}/{key}"
        url: str = self.client.generate_presigned_url(
            "get_object",
            Params={"Bucket": self.bucket, "Key": key},
            ExpiresIn=int(self.retention.total_seconds()),
        )
        return url

    def save_jpeg(self, data: bytes, *, width: int, height: int) -> MediaItem:
        key = self.prefix + media_name(data)
        # PUT is atomic in S3: a reader sees the old object or the whole new one.  Writing the
        # same content again refreshes LastModified, which restarts the object's retention.
        self.client.put_object(
            Bucket=self.bucket,
            Key=key,
            Body=data,
            ContentType="image/jpeg",
            CacheControl="public, max-age=86400, immutable",
        )
        return MediaItem(
            url=self._url(key), path=f"s3://{self.bucket}/{key}", width=width, height=height
        )

    def _expired_keys(self, cutoff: datetime) -> Iterator[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.prefix
        )
        for page in pages:
            for obj in page.get("Contents", []):
                if obj["LastModified"] < cutoff:
                    yield obj["Key"]

    def sweep(self, *, now: datetime | None = None) -> int:
        cutoff = (now or datetime.now(UTC)) - self.retention
        removed = 0
        batch: list[str] = []
        for key in self._expired_keys(cutoff):
            batch.append(key)
            if len(batch) == DELETE_BATCH:
                removed += self._delete(batch)
                batch = []
        if batch:
            removed += self._delete(batch)
        return removed

    def _delete(self, keys: list[str]) -> int:
        result = self.client.delete_objects(
            Bucket=self.bucket,
            Delete={"Objects": [{"Key": k} for k in keys], "Quiet": True},
        )
        return len(keys) - len(result.get("Errors", []))
