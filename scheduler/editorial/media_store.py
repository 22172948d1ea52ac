"""The process's media store, chosen by settings: a local folder or an S3-compatible bucket."""

from __future__ import annotations

from datetime import timedelta
from functools import lru_cache
from typing import Any

from adapters.media_store import LocalMediaStore, MediaStore, S3MediaStore
from config import Settings


def media_store(settings: Settings) -> MediaStore:
    """The media store that ``settings`` name."""
    media = settings.media
    retention = timedelta(hours=media.retention_hours)
    if media.store == "local":
        settings.media_dir.mkdir(parents=True, exist_ok=True)
        return LocalMediaStore(
            settings.media_dir, settings.resolved_media_base_url, retention=retention
        )
    secret = media.s3_secret_access_key
    return S3MediaStore(
        s3_client(
            endpoint_url=media.s3_endpoint_url,
            region=media.s3_region,
            access_key_id=media.s3_access_key_id,
            secret_access_key=secret.get_secret_value() if secret else None,
        ),
        bucket=str(media.s3_bucket),
        prefix=media.s3_prefix,
        public_base_url=settings.media_base_url,
        retention=retention,
    )


@lru_cache(maxsize=4)
def s3_client(
    *,
    endpoint_url: str | None,
    region: str,
    access_key_id: str | None,
    secret_access_key: str | None,
) -> Any:
    """A boto3 S3 client, one per process and endpoint (making one takes tens of ms; boto3
    clients are thread-safe).  Without a key pair, boto3's usual chain applies (environment,
    instance role)."""
    import boto3  # type: ignore[import-untyped]  # only the S3 store needs it
    from botocore.config import Config  # type: ignore[import-untyped]

    return boto3.client(
        "s3",
        endpoint_url=endpoint_url,
        region_name=region,
        aws_access_key_id=access_key_id,
        aws_secret_access_key=secret_access_key,
        config=Config(
            signature_version="s3v4",
            connect_timeout=5,
            read_timeout=20,
            retries={"max_attempts": 3, "mode": "standard"},
        ),
    )
