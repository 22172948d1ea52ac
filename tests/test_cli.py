"""The ``newsrelay`` console script, run as a person would run it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from PIL import Image
from twitter_text import parse_tweet

from tests.conftest import FIXTURE_ARTICLE

NEWSRELAY = [sys.executable, "-m", "scheduler.cli.app"]


def run_cli(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NEWSRELAY_DATA_DIR": str(data_dir)}
    env.pop("NEWSRELAY_DATABASE_URL", None)
    return subprocess.run(
        [*NEWSRELAY, *args], capture_output=True, text=True, env=env, timeout=120, check=False
    )


def test_preview_json_renders_the_fixture_for_all_three_channels(tmp_path: Path) -> None:
    result = run_cli("preview", str(FIXTURE_ARTICLE), "--json", data_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    posts = {p["channel"]: p for p in json.loads(result.stdout)["posts"]}
    assert list(posts) == ["x", "instagram", "facebook"]

    x = posts["x"]
    parsed = parse_tweet(x["text"])
    assert parsed.weightedLength <= 280 and parsed.valid
    assert x["weighted_length"] == parsed.weightedLength
    assert parse_qs(urlsplit(x["link"]).query)["utm_source"] == ["x"]
    assert x["link"] in x["text"]
    assert x["media"] == [] and x["problems"] == []

    ig = posts["instagram"]
    assert ig["link"] is None
    assert "http://" not in ig["text"] and "https://" not in ig["text"]
    assert ig["text"].count("#") <= 30
    (media,) = ig["media"]
    with Image.open(media["path"]) as im:
        assert im.format == "JPEG"
        assert 0.8 <= im.width / im.height <= 1.91
        assert 320 <= im.width <= 1440
        assert (im.width, im.height) == (media["width"], media["height"])
    assert media["content_type"] == "image/jpeg"

    fb = posts["facebook"]
    assert parse_qs(urlsplit(fb["link"]).query)["utm_source"] == ["facebook"]
    # Preview writes nothing to the database.
    assert not (tmp_path / "newsrelay.sqlite").exists()


def test_preview_one_channel_prints_a_readable_preview(tmp_path: Path) -> None:
    result = run_cli("preview", str(FIXTURE_ARTICLE), "--channel", "x", data_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "── x" in result.stdout and "/280 (X weighted)" in result.stdout
    assert "instagram" not in result.stdout


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("{not json", "not valid JSON"),
        (b"\xff\xfe{}", "not valid UTF-8"),
        ("[" * 10_000 + "]" * 10_000, "JSON nested deeper than 32 levels"),
        (
            '{"source": "a", "external_id": "1", "url": "https://a.example/x", '
            '"title": "a\\u0000b", "published_at": "2025-11-03T16:35:00+05:00"}',
            "title: must not contain NUL characters",
        ),
        ('{"source": "a", "title": "t"}', "external_id: required field is missing"),
        (
            '{"source": "a", "external_id": "1", "url": "https://a.example/x", "title": "t", '
            '"published_at": "2025-11-03T16:35:00", "color": "red"}',
            "color: unknown field",
        ),
    ],
)
def test_articles_add_refuses_bad_input_and_writes_nothing(
    tmp_path: Path, content: str | bytes, expected: str
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_bytes(content if isinstance(content, bytes) else content.encode())
    result = run_cli("articles", "add", str(bad), data_dir=tmp_path / "data")
    assert result.returncode == 2
    assert expected in result.stderr
    assert not (tmp_path / "data" / "newsrelay.sqlite").exists()


def test_articles_add_twice_keeps_one_post_per_channel(tmp_path: Path) -> None:
    first = run_cli("articles", "add", str(FIXTURE_ARTICLE), "--json", data_dir=tmp_path)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["posts_created"] == 3
    second = run_cli("articles", "add", str(FIXTURE_ARTICLE), "--json", data_dir=tmp_path)
    assert json.loads(second.stdout) | {"article_id": None} == {
        "article_id": None,
        "external_id": "2025-11-03-pakistan-fm-dar-istanbul-gaza-talks",
        "revision": 2,
        "created": False,
        "posts_created": 0,
        "posts_rerendered": 3,
        "posts_cancelled": 0,
        "note": None,
    }
    listed = run_cli("posts", "list", "--json", data_dir=tmp_path)
    posts = json.loads(listed.stdout)["posts"]
    assert sorted(p["channel"] for p in posts) == ["facebook", "instagram", "x"]
    assert set(posts[0]) >= {
        "id",
        "article_external_id",
        "channel",
        "status",
        "scheduled_at",
        "external_id",
        "external_url",
        "last_error",
    }


def test_unknown_channel_is_refused(tmp_path: Path) -> None:
    result = run_cli("preview", str(FIXTURE_ARTICLE), "--channel", "myspace", data_dir=tmp_path)
    assert result.returncode == 2 and "unknown channel myspace" in result.stderr
