"""In production, start-up refuses a media base URL the platforms cannot fetch from."""

from __future__ import annotations

from pathlib import Path

import pytest

from config import Settings
from config.settings import MediaSettings, MediaUrlRefused, check_media_base_url
from scheduler.runtime.bootstrap import ensure_ready

PUBLIC = {"media.example.com": ["93.184.215.14"], "cdn.example.com": ["2606:2800:21f:cb07::1"]}


def _prod(tmp_path: Path, media_url: str | None, **kw: object) -> Settings:
    return Settings(
        environment="production",
        data_dir=tmp_path,
        secret_key="a-long-random-production-secret",
        database_url=f"sqlite:///{tmp_path / 'db.sqlite'}",
        broker_url="redis://127.0.0.1:6379/15",
        media_base_url=media_url,
        **kw,  # type: ignore[arg-type]
    )


def _resolve(host: str) -> list[str]:
    return {**PUBLIC, "internal.example.com": ["10.1.2.3"], "lo.example.com": ["127.0.0.1"]}[host]


@pytest.mark.parametrize(
    ("media", "words"),
    [
        ("http://media.example.com/media", "must be an https URL"),
        ("https://127.0.0.1/media", "loopback or private address (127.0.0.1)"),
        ("https://[::1]/media", "loopback or private address (::1)"),
        ("https://192.168.1.20/media", "loopback or private address (192.168.1.20)"),
        ("https://internal.example.com/media", "loopback or private address (10.1.2.3)"),
        ("https://lo.example.com/media", "loopback or private address (127.0.0.1)"),
        ("https://169.254.169.254/media", "(169.254.169.254)"),
    ],
)
def test_production_refuses_a_media_url_meta_cannot_fetch_and_names_the_setting(
    tmp_path: Path, media: str, words: str
) -> None:
    with pytest.raises(MediaUrlRefused) as refused:
        check_media_base_url(_prod(tmp_path, media), resolve=_resolve)
    assert str(refused.value).startswith("NEWSRELAY_MEDIA_BASE_URL: ")
    assert words in str(refused.value)


def test_unset_media_url_falls_back_to_the_public_base_url_and_says_so(tmp_path: Path) -> None:
    settings = _prod(tmp_path, None, public_base_url="http://127.0.0.1:8000")
    with pytest.raises(MediaUrlRefused, match=r"^NEWSRELAY_MEDIA_BASE_URL \(unset\): "):
        check_media_base_url(settings, resolve=_resolve)


@pytest.mark.parametrize("media", ["https://media.example.com/media", "https://cdn.example.com"])
def test_production_accepts_a_public_https_media_url(tmp_path: Path, media: str) -> None:
    check_media_base_url(_prod(tmp_path, media), resolve=_resolve)


def test_outside_production_loopback_media_is_fine(tmp_path: Path) -> None:
    check_media_base_url(Settings(environment="test", data_dir=tmp_path, media_base_url=None))


def test_start_up_stops_before_touching_the_database(tmp_path: Path) -> None:
    settings = _prod(tmp_path, "https://127.0.0.1/media")
    with pytest.raises(MediaUrlRefused, match="NEWSRELAY_MEDIA_BASE_URL"):
        ensure_ready(settings)
    assert not (tmp_path / "db.sqlite").exists()


def test_s3_store_is_checked_at_its_endpoint_and_aws_itself_is_accepted(tmp_path: Path) -> None:
    private = _prod(
        tmp_path,
        None,
        public_base_url="http://127.0.0.1:8000",
        media=MediaSettings(
            store="s3", s3_bucket="m", s3_endpoint_url="https://internal.example.com"
        ),
    )
    with pytest.raises(MediaUrlRefused, match=r"^NEWSRELAY_MEDIA__S3_ENDPOINT_URL: .*10\.1\.2\.3"):
        check_media_base_url(private, resolve=_resolve)
    aws = _prod(
        tmp_path,
        None,
        public_base_url="http://127.0.0.1:8000",
        media=MediaSettings(store="s3", s3_bucket="m"),
    )
    check_media_base_url(aws, resolve=_resolve)  # presigned URLs on AWS's public endpoint
