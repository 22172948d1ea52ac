"""The sandbox's Meta-like media mode, over real HTTP: Instagram refuses image URLs on loopback or
private addresses with Meta's own 9004 / 2207052 body, except the allowed ``host:port`` pairs."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from adapters.sandbox import SandboxClient, SandboxServer
from adapters.sandbox.media_access import MediaAccess, MediaAccessError
from tests.sandbox.tokens import graph_token

IG = "17841400000000001"


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer("127.0.0.1", 0) as server:
        yield server


@pytest.fixture
def http(sandbox: SandboxServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox.url, timeout=10) as client:
        yield client


@pytest.fixture
def admin(sandbox: SandboxServer, http: httpx.Client) -> SandboxClient:
    return SandboxClient(sandbox.url, client=http)


def _container(http: httpx.Client, image_url: str) -> httpx.Response:
    data = {"image_url": image_url, "caption": "Dar in Istanbul", **graph_token(IG)}
    return http.post(f"/v26.0/{IG}/media", data=data)


def _own_image(sandbox: SandboxServer) -> str:
    return f"{sandbox.url}/_sandbox/images/1080x1080.jpg"


def test_loopback_images_are_fetched_by_default(
    http: httpx.Client, sandbox: SandboxServer, admin: SandboxClient
) -> None:
    assert http.get("/_sandbox/media").json() == {"refuse_private": False, "allow": []}
    assert _container(http, _own_image(sandbox)).status_code == 200


def test_the_mode_refuses_a_loopback_image_with_metas_9004_2207052_body(
    http: httpx.Client, sandbox: SandboxServer, admin: SandboxClient
) -> None:
    admin.set_media_access(refuse_private=True)

    response = _container(http, _own_image(sandbox))

    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], error["error_subcode"]) == (9004, 2207052)
    assert error["type"] == "OAuthException" and error["fbtrace_id"]
    assert error["message"] == "The media could not be fetched from this uri."
    assert error["error_user_title"] == "Media download has failed"
    images = [r for r in admin.requests(platform="instagram") if r["kind"] == "container"]
    assert [r["status"] for r in images] == [400]


def test_allowing_the_host_port_lets_the_same_url_through(
    http: httpx.Client, sandbox: SandboxServer, admin: SandboxClient
) -> None:
    admin.set_media_access(refuse_private=True)
    host_port = sandbox.url.removeprefix("http://")

    assert admin.set_media_access(allow=[host_port]) == {
        "refuse_private": True,
        "allow": [host_port],
    }
    assert _container(http, _own_image(sandbox)).status_code == 200
    # Another port on the same host is still private.
    assert _container(http, "http://127.0.0.1:9/x.jpg").status_code == 400
    admin.set_media_access(allow=[])
    assert _container(http, _own_image(sandbox)).status_code == 400


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost:8000/a.jpg",
        "http://10.1.2.3/a.jpg",
        "https://192.168.0.10/a.jpg",
        "http://172.16.5.5:8080/a.jpg",
        "http://169.254.169.254/latest",
        "http://[::1]:8000/a.jpg",
        "http://0.0.0.0/a.jpg",
        "http://no-such-host.invalid/a.jpg",
    ],
)
def test_private_loopback_and_unresolvable_hosts_are_refused(url: str) -> None:
    assert MediaAccess(refuse_private=True).refuses(url)
    assert not MediaAccess(refuse_private=False).refuses(url)


def test_a_public_address_is_not_refused() -> None:
    assert not MediaAccess(refuse_private=True).refuses("https://93.184.215.14/a.jpg")


def test_the_constructor_sets_the_mode_and_the_allow_list() -> None:
    with SandboxServer(
        "127.0.0.1", 0, refuse_private_media=True, media_allow=["LocalHost:8000"]
    ) as server:
        assert server.state.media.view().as_dict() == {
            "refuse_private": True,
            "allow": ["localhost:8000"],
        }
        assert not server.state.media.refuses("http://localhost:8000/media/a.jpg")
        assert server.state.media.refuses("http://localhost:8001/media/a.jpg")
    with pytest.raises(MediaAccessError, match="not host:port"):
        SandboxServer("127.0.0.1", 0, media_allow=["http://127.0.0.1:8000/"])


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"refuse_private": "yes"},
        {"allow": "127.0.0.1:8000"},
        {"allow": ["127.0.0.1"]},
        {"allow": ["127.0.0.1:0"]},
        {"allow": ["127.0.0.1:8000", "http://x:1/"]},
        {"refuse_private": True, "other": 1},
    ],
)
def test_a_bad_admin_body_gets_400_and_changes_nothing(http: httpx.Client, body: object) -> None:
    before = http.get("/_sandbox/media").json()

    response = http.post("/_sandbox/media", json=body)

    assert response.status_code == 400
    assert "host:port" in response.json()["error"]
    assert http.get("/_sandbox/media").json() == before


def test_reset_keeps_the_mode(sandbox: SandboxServer, admin: SandboxClient) -> None:
    admin.set_media_access(refuse_private=True, allow=["127.0.0.1:8000"])
    admin.reset()
    assert sandbox.state.media.view().as_dict() == {
        "refuse_private": True,
        "allow": ["127.0.0.1:8000"],
    }
