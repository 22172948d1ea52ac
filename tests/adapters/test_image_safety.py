"""Image downloads against real local servers: the whole download ends at its deadline, the
connection goes to the address that was checked (DNS rebinding), TLS keeps the host name, and a
slow server gets only its share of downloads."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from adapters.base import ArticleContent, ChannelSettings
from adapters.deadline import make_client
from adapters.errors import ImageError
from adapters.images import (
    FetchGate,
    ImagePolicy,
    ImageServerBusy,
    LocalMediaStore,
    fetch_image,
    prepare_instagram_image,
)
from tests.utils.slow_server import IMAGE, SlowServer, elapsed, free_port_on, tls_pair

LOOPBACK = ("127.0.0.0/8",)


def _client() -> httpx.Client:
    return make_client(timeout=httpx.Timeout(5.0), per_request=30.0)


def rebinding(*answers: str) -> tuple[Callable[[str], list[str]], list[str]]:
    """A resolver that answers ``answers`` in turn (the last one from then on)."""
    calls: list[str] = []

    def resolve(host: str) -> list[str]:
        calls.append(host)
        return [answers[min(len(calls), len(answers)) - 1]]

    return resolve, calls


@pytest.fixture
def slow() -> Iterator[SlowServer]:
    server = SlowServer(interval=0.2, length=300).start()
    yield server
    server.stop()


# --- the deadline -----------------------------------------------------------------------------
@pytest.mark.parametrize("client", [_client, httpx.Client], ids=["deadline-client", "plain"])
def test_a_trickling_image_server_is_cut_off_at_the_deadline(
    slow: SlowServer, client: Callable[[], httpx.Client]
) -> None:
    policy = ImagePolicy(timeout=5.0, deadline=1.5, allowed_networks=LOOPBACK)
    start = time.monotonic()
    with pytest.raises(ImageError) as err:
        fetch_image(f"{slow.url}/trickle.jpg", client=client(), policy=policy)
    assert elapsed(start) < 3.0  # every read answered within 0.2 s: only the deadline stops it
    assert err.value.reason == "The image server did not send the whole image within 1.5 s."


def test_the_deadline_covers_every_redirect_hop_together(slow: SlowServer) -> None:
    policy = ImagePolicy(timeout=5.0, deadline=1.0, allowed_networks=LOOPBACK)
    start = time.monotonic()
    with pytest.raises(ImageError, match="within 1 s"):
        fetch_image(f"{slow.url}/to?/to?/trickle.jpg", client=_client(), policy=policy)
    assert elapsed(start) < 2.0


def test_a_slow_image_falls_back_to_the_headline_card_with_the_reason(
    slow: SlowServer, tmp_path: Path
) -> None:
    article = ArticleContent(
        source="s", external_id="1", url="https://news.example/a", title="A slow picture",
        image_url=f"{slow.url}/trickle.jpg",
    )  # fmt: skip
    policy = ImagePolicy(timeout=5.0, deadline=1.0, allowed_networks=LOOPBACK)
    media, warnings = prepare_instagram_image(
        article,
        ChannelSettings(),
        store=LocalMediaStore(tmp_path, "http://media.example"),
        client=_client(),
        policy=policy,
    )
    assert (media.width, media.height) == (1080, 1350)
    assert warnings == [
        "The article image was not used (the image server did not send the whole image within "
        "1 s); a headline card was generated instead."
    ]


# --- DNS rebinding ----------------------------------------------------------------------------
@pytest.fixture
def twins() -> Iterator[tuple[SlowServer, SlowServer]]:
    """The same port on 127.0.0.2 (allow-listed: stands for a public host) and on 127.0.0.1
    (private): ``localhost`` resolved by the system reaches the private one."""
    port = free_port_on("127.0.0.2", "127.0.0.1")
    public = SlowServer(host="127.0.0.2", port=port).start()
    private = SlowServer(host="127.0.0.1", port=port).start()
    yield public, private
    public.stop()
    private.stop()


PUBLIC_ONLY = ImagePolicy(timeout=5.0, deadline=5.0, allowed_networks=("127.0.0.2/32",))


def test_the_connection_goes_to_the_checked_address_not_a_second_lookup(
    twins: tuple[SlowServer, SlowServer],
) -> None:
    public, private = twins
    resolve, calls = rebinding("127.0.0.2", "127.0.0.1")  # public first, private after
    url = f"http://localhost:{public.port}/image.jpg"
    assert fetch_image(url, client=_client(), policy=PUBLIC_ONLY, resolver=resolve) == IMAGE
    assert private.seen == [] and calls == ["localhost"]
    assert [(s.path, s.host) for s in public.seen] == [("/image.jpg", f"localhost:{public.port}")]


def test_every_redirect_hop_connects_to_its_own_checked_address(
    twins: tuple[SlowServer, SlowServer],
) -> None:
    public, private = twins
    # Each hop's check answers public; any lookup after that would answer private.
    resolve, calls = rebinding("127.0.0.2", "127.0.0.2", "127.0.0.1")
    url = f"http://localhost:{public.port}/to?http://localhost:{public.port}/image.jpg"
    assert fetch_image(url, client=_client(), policy=PUBLIC_ONLY, resolver=resolve) == IMAGE
    assert private.seen == [] and len(calls) == 2
    # A hop whose own check answers private is refused before any request goes there.
    resolve, _ = rebinding("127.0.0.2", "127.0.0.1")
    with pytest.raises(ImageError, match=r"points to 127\.0\.0\.1, a loopback address"):
        fetch_image(url, client=_client(), policy=PUBLIC_ONLY, resolver=resolve)
    assert private.seen == []


def test_https_keeps_the_host_name_for_sni_certificate_and_host_header(tmp_path: Path) -> None:
    server_tls, client_tls = tls_pair(tmp_path, "images.test")  # the certificate names no IP
    server = SlowServer(host="127.0.0.2", tls=server_tls).start()
    try:
        resolve, _ = rebinding("127.0.0.2", "127.0.0.1")
        client = make_client(timeout=httpx.Timeout(5.0), per_request=10.0, verify=client_tls)
        url = f"https://images.test:{server.port}/image.jpg"
        assert fetch_image(url, client=client, policy=PUBLIC_ONLY, resolver=resolve) == IMAGE
        seen = [(s.host, s.sni) for s in server.seen]
        assert seen == [(f"images.test:{server.port}", "images.test")]
    finally:
        server.stop()


# --- shares of a slow server ------------------------------------------------------------------
def test_a_server_gets_only_its_share_and_then_is_turned_away_for_a_while(
    slow: SlowServer,
) -> None:
    gate = FetchGate()
    policy = ImagePolicy(
        timeout=5.0, deadline=1.5, allowed_networks=LOOPBACK, per_server=2, at_once=8,
        slow_server_seconds=60,
    )  # fmt: skip
    url = f"{slow.url}/trickle.jpg"
    errors: list[BaseException] = []

    def fetch() -> None:
        try:
            fetch_image(url, client=_client(), policy=policy, gate=gate)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=fetch) for _ in range(2)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 5
    while len(slow.requests_for("/trickle.jpg")) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    start = time.monotonic()
    with pytest.raises(ImageServerBusy):
        fetch_image(url, client=_client(), policy=policy, gate=gate)
    # Turned away at once: well inside the 1.5 s deadline a waiting fetch would take.
    assert elapsed(start) < 1.0
    for t in threads:
        t.join()
    assert [type(e).__name__ for e in errors] == ["ImageTooSlow", "ImageTooSlow"]
    start = time.monotonic()
    with pytest.raises(ImageError) as err:
        fetch_image(url, client=_client(), policy=policy, gate=gate)
    assert elapsed(start) < 1.0 and len(slow.requests_for("/trickle.jpg")) == 2
    assert err.value.reason == (
        f"The image server 127.0.0.1:{slow.port} did not send an image within 1.5 s a moment "
        "ago, so it is not asked again for 60 s."
    )


def test_the_share_is_per_server_and_in_all(slow: SlowServer) -> None:
    gate = FetchGate()
    policy = ImagePolicy(timeout=5.0, allowed_networks=LOOPBACK, per_server=1, at_once=2)
    with gate.slot("a:80", policy), gate.slot("b:80", policy), pytest.raises(ImageServerBusy):
        gate.slot("c:80", policy).__enter__()  # two in all
    with gate.slot("a:80", policy):
        with pytest.raises(ImageServerBusy):
            gate.slot("a:80", policy).__enter__()  # one per server
        assert fetch_image(f"{slow.url}/image.jpg", client=_client(), policy=policy, gate=gate)
