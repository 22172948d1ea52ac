"""Image pipeline: SSRF-safe fetch through httpx.MockTransport, Instagram fit, headline card."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageStat

from adapters.base import ArticleContent, ChannelSettings
from adapters.errors import ImageError
from adapters.images import (
    ImagePolicy,
    LocalMediaStore,
    fetch_image,
    fit_for_instagram,
    headline_card,
    prepare_instagram_image,
)
from tests.conftest import FIXTURE_IMAGES

WIDE = (FIXTURE_IMAGES / "wide-banner-3x1.jpg").read_bytes()
PORTRAIT_ALPHA = (FIXTURE_IMAGES / "portrait-4x5-alpha.png").read_bytes()
PUBLIC_IP = "93.184.215.14"
POLICY = ImagePolicy(max_bytes=1_000_000, timeout=2.0)

Handler = Callable[[httpx.Request], httpx.Response]


def resolver_for(table: dict[str, list[str]]) -> Callable[[str], list[str]]:
    def resolve(host: str) -> list[str]:
        if host not in table:
            raise OSError(f"unknown host {host}")
        return table[host]

    return resolve


def no_dns(host: str) -> list[str]:
    raise AssertionError(f"an IP literal must not be resolved ({host})")


class Server:
    """A MockTransport that serves a few paths and records what was requested."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.routes: dict[str, Handler] = {
            "/wide.jpg": lambda r: httpx.Response(200, content=WIDE, headers=_jpeg),
            "/alpha.png": lambda r: httpx.Response(
                200, content=PORTRAIT_ALPHA, headers={"content-type": "image/png"}
            ),
            "/page.html": lambda r: httpx.Response(
                200, content=b"<html></html>", headers={"content-type": "text/html"}
            ),
            "/missing.jpg": lambda r: httpx.Response(404),
            "/big-declared.jpg": lambda r: httpx.Response(
                200, content=b"\xff" * 2_000_000, headers=_jpeg
            ),
            "/big-streamed.jpg": lambda r: httpx.Response(200, content=_chunks(), headers=_jpeg),
            "/slow.jpg": _timeout,
            "/down.jpg": _refused,
            "/to-private": lambda r: httpx.Response(
                302, headers={"location": "http://inner/x.jpg"}
            ),
            "/to-wide": lambda r: httpx.Response(301, headers={"location": "/wide.jpg"}),
            "/loop": lambda r: httpx.Response(302, headers={"location": "/loop"}),
        }

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.routes[request.url.path](request)

    def client(self) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(self))


_jpeg = {"content-type": "image/jpeg"}


def _chunks() -> Iterator[bytes]:
    for _ in range(100):  # no Content-Length: only counting while streaming catches it
        yield b"\xff" * 100_000


def _timeout(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadTimeout("timed out", request=request)


def _refused(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


@pytest.fixture
def server() -> Server:
    return Server()


PUBLIC = resolver_for({"img.example.com": [PUBLIC_IP], "inner": ["10.0.0.7"]})


# --- fetch: SSRF guard ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("10.20.30.40", "private"),
        ("169.254.169.254", "link-local"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),
        ("0.0.0.0", "unspecified"),  # noqa: S104 - an address to refuse, not to bind
        ("100.64.0.1", "non-public"),
    ],
)
def test_fetch_refuses_a_host_resolving_to_a_non_public_address(
    server: Server, address: str, kind: str
) -> None:
    resolve = resolver_for({"evil.example.com": [PUBLIC_IP, address]})
    with pytest.raises(ImageError) as err:
        fetch_image(
            "https://evil.example.com/wide.jpg",
            client=server.client(),
            policy=POLICY,
            resolver=resolve,
        )
    assert f"points to {address.replace('::ffff:', '')}, a {kind} address" in err.value.reason
    assert server.requests == []


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/wide.jpg",
        "http://[::1]:8080/wide.jpg",
        "http://169.254.169.254/latest/meta-data",
        "http://10.0.0.1/wide.jpg",
        "http://192.168.1.1/wide.jpg",
    ],
)
def test_fetch_refuses_ip_literal_private_hosts_without_dns(server: Server, url: str) -> None:
    with pytest.raises(ImageError, match="address, which is not fetched for safety"):
        fetch_image(url, client=server.client(), policy=POLICY, resolver=no_dns)
    assert server.requests == []


@pytest.mark.parametrize("url", ["ftp://img.example.com/a.jpg", "file:///etc/passwd", "wide.jpg"])
def test_fetch_refuses_non_http_schemes(server: Server, url: str) -> None:
    with pytest.raises(ImageError, match="must start with http or https"):
        fetch_image(url, client=server.client(), policy=POLICY, resolver=PUBLIC)


def test_fetch_allows_listed_networks_and_hosts(server: Server) -> None:
    sandbox = ImagePolicy(allowed_networks=("127.0.0.0/8",))
    data = fetch_image("http://127.0.0.1:8765/wide.jpg", client=server.client(), policy=sandbox)
    assert data == WIDE
    by_name = ImagePolicy(allowed_hosts=("Inner",))
    assert fetch_image("http://inner/wide.jpg", client=server.client(), policy=by_name) == WIDE


def test_fetch_rechecks_every_redirect_hop(server: Server) -> None:
    client = server.client()
    url = "https://img.example.com/to-private"
    with pytest.raises(ImageError, match=r"points to 10\.0\.0\.7, a private address"):
        fetch_image(url, client=client, policy=POLICY, resolver=PUBLIC)
    assert [r.url.path for r in server.requests] == ["/to-private"]
    url = "https://img.example.com/to-wide"
    assert fetch_image(url, client=client, policy=POLICY, resolver=PUBLIC) == WIDE
    with pytest.raises(ImageError, match="redirected more than 3 times"):
        fetch_image("https://img.example.com/loop", client=client, policy=POLICY, resolver=PUBLIC)


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/page.html", "The image address returned text/html, not an image."),
        ("/missing.jpg", "The image server answered HTTP 404."),
        ("/big-declared.jpg", "The image is larger than"),
        ("/big-streamed.jpg", "The image is larger than"),
        ("/slow.jpg", "The image server did not answer within 2 s."),
        ("/down.jpg", "The image could not be downloaded (ConnectError)."),
    ],
)
def test_fetch_refuses_bad_responses_with_a_clear_reason(
    server: Server, path: str, reason: str
) -> None:
    url = f"https://img.example.com{path}"
    with pytest.raises(ImageError) as err:
        fetch_image(url, client=server.client(), policy=POLICY, resolver=PUBLIC)
    assert err.value.reason.startswith(reason)


def test_fetch_unknown_host_is_an_image_error(server: Server) -> None:
    with pytest.raises(ImageError, match="could not be found"):
        fetch_image(
            "https://nowhere.example/a.jpg", client=server.client(), policy=POLICY, resolver=PUBLIC
        )


# --- fit --------------------------------------------------------------------------------------
def _open(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


def _assert_instagram_ready(data: bytes, width: int, height: int) -> Image.Image:
    img = _open(data)
    assert img.format == "JPEG" and img.mode == "RGB"
    assert img.size == (width, height)
    assert 0.8 <= width / height <= 1.91
    assert 320 <= width <= 1440
    assert len(data) <= 8 * 1024 * 1024
    return img


@pytest.mark.parametrize("fit", ["pad", "crop"])
def test_fit_wide_banner_3x1_becomes_a_1_91_jpeg(fit: str) -> None:
    data, width, height = fit_for_instagram(WIDE, fit=fit)  # type: ignore[arg-type]
    _assert_instagram_ready(data, width, height)
    assert width == 1080 and abs(width / height - 1.91) < 0.01


def test_fit_pad_keeps_the_whole_banner_and_crop_fills_the_frame() -> None:
    padded = _open(fit_for_instagram(WIDE, fit="pad")[0])
    cropped = _open(fit_for_instagram(WIDE, fit="crop")[0])
    top_left = padded.getpixel((padded.width // 2, 2))
    assert isinstance(top_left, tuple) and min(top_left) > 240  # white padding band on top
    assert cropped.getpixel((cropped.width // 2, 2)) != top_left


def test_fit_portrait_rgba_png_is_flattened_to_rgb_jpeg() -> None:
    source = _open(PORTRAIT_ALPHA)
    assert source.mode == "RGBA" and source.getchannel("A").getextrema() == (128, 128)
    data, width, height = fit_for_instagram(PORTRAIT_ALPHA, background="#ff0000")
    on_red = _assert_instagram_ready(data, width, height)
    assert (width, height) == (1080, 1350)
    on_white = _open(fit_for_instagram(PORTRAIT_ALPHA)[0])
    # Half-transparent pixels are blended with the background, not dropped or kept as alpha.
    green_red_bg = ImageStat.Stat(on_red).mean[1]
    green_white_bg = ImageStat.Stat(on_white).mean[1]
    assert green_white_bg - green_red_bg > 100


def _encoded(img: Image.Image, fmt: str, **kw: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


@pytest.mark.parametrize(
    ("image", "fmt", "expected"),
    [
        (Image.new("RGB", (100, 80), "red"), "PNG", (320, 256)),  # upscaled to 320 wide
        (Image.new("RGB", (4000, 3000), "red"), "JPEG", (1080, 810)),  # downscaled to 1080
        (Image.new("L", (200, 1000), 128), "PNG", (800, 1000)),  # 1:5 padded to 4:5
        (Image.new("CMYK", (600, 600), (0, 255, 255, 0)), "JPEG", (600, 600)),
        (Image.new("P", (500, 400)), "GIF", (500, 400)),
        (Image.new("LA", (500, 400)), "PNG", (500, 400)),
        (Image.new("I;16", (500, 400), 40000), "PNG", (500, 400)),
    ],
)
def test_fit_converts_sizes_and_modes(
    image: Image.Image, fmt: str, expected: tuple[int, int]
) -> None:
    data, width, height = fit_for_instagram(_encoded(image, fmt))
    _assert_instagram_ready(data, width, height)
    assert (width, height) == expected


def test_fit_crop_mode_on_a_tall_image_cuts_to_4x5() -> None:
    data, width, height = fit_for_instagram(
        _encoded(Image.new("RGB", (400, 2000)), "PNG"), fit="crop"
    )
    _assert_instagram_ready(data, width, height)
    assert (width, height) == (400, 500)


def test_fit_applies_exif_orientation() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    raw = _encoded(Image.new("RGB", (1000, 800), "blue"), "JPEG", exif=exif.tobytes())
    data, width, height = fit_for_instagram(raw)
    assert (width, height) == (800, 1000)
    assert "exif" not in _open(data).info


@pytest.mark.parametrize("data", [b"", b"<html>not an image</html>", WIDE[:200]])
def test_fit_refuses_non_images(data: bytes) -> None:
    with pytest.raises(ImageError, match="not an image that can be read"):
        fit_for_instagram(data)


def test_fit_refuses_a_decompression_bomb() -> None:
    bomb = _encoded(Image.new("1", (10_000, 10_000)), "PNG")
    assert len(bomb) < 100_000
    with pytest.raises(ImageError, match="too large to process"):
        fit_for_instagram(bomb)


# --- headline card and store ------------------------------------------------------------------
def test_headline_card_is_a_deterministic_jpeg() -> None:
    a = headline_card("Pakistan FM Dar in Istanbul", source="southasiandesk")
    assert a == headline_card("Pakistan FM Dar in Istanbul", source="southasiandesk")
    img = _open(a)
    assert img.format == "JPEG" and img.size == (1080, 1350) and img.mode == "RGB"
    assert img.getpixel((5, 5)) != (255, 255, 255)


@settings(max_examples=30, deadline=None)
@given(title=st.text(max_size=300), color=st.sampled_from(["#0b3d91", "#fff", "nonsense", ""]))
def test_headline_card_never_crashes_on_any_unicode(title: str, color: str) -> None:
    img = _open(
        headline_card(
            title + "\U0001f468\u200d\U0001f469\u200d\U0001f467 پاکستان", brand_color=color
        )
    )
    assert img.size == (1080, 1350)


def test_media_store_is_content_addressed(tmp_path: Path) -> None:
    store = LocalMediaStore(tmp_path / "media", "https://cdn.example/media/")
    item = store.save_jpeg(WIDE, width=1800, height=600)
    name = hashlib.sha256(WIDE).hexdigest() + ".jpg"
    assert item.url == f"https://cdn.example/media/{name}"
    assert Path(item.path) == (tmp_path / "media" / name).resolve()
    assert Path(item.path).read_bytes() == WIDE
    assert store.save_jpeg(WIDE, width=1800, height=600) == item
    assert [p.name for p in (tmp_path / "media").iterdir()] == [name]


# --- the pipeline -----------------------------------------------------------------------------
def _article(image_url: str | None) -> ArticleContent:
    return ArticleContent(
        source="southasiandesk",
        external_id="e",
        url="https://news.example.com/a",
        title="Dar in Istanbul",
        image_url=image_url,
    )


def test_prepare_instagram_image_fits_and_stores_the_article_image(
    server: Server, tmp_path: Path
) -> None:
    store = LocalMediaStore(tmp_path, "https://cdn.example/m")
    item, warnings = prepare_instagram_image(
        _article("https://img.example.com/wide.jpg"),
        ChannelSettings(image_fit="crop"),
        store=store,
        client=server.client(),
        policy=POLICY,
        resolver=PUBLIC,
    )
    assert warnings == []
    _assert_instagram_ready(Path(item.path).read_bytes(), item.width, item.height)


@pytest.mark.parametrize(
    ("image_url", "resolve", "why"),
    [
        ("http://metadata.example/latest", {"metadata.example": ["169.254.169.254"]}, "link-local"),
        ("http://localhost/wide.jpg", {"localhost": ["127.0.0.1", "::1"]}, "127.0.0.1, a loopback"),
        ("http://[::1]/wide.jpg", {}, "::1, a loopback"),
        ("http://intranet/wide.jpg", {"intranet": ["10.1.1.1"]}, "10.1.1.1, a private"),
        ("https://img.example.com/page.html", {"img.example.com": [PUBLIC_IP]}, "text/html"),
        (None, {}, "the article has no image"),
    ],
)
def test_prepare_instagram_image_falls_back_to_headline_card_with_a_warning(
    server: Server, tmp_path: Path, image_url: str | None, resolve: dict[str, list[str]], why: str
) -> None:
    store = LocalMediaStore(tmp_path, "https://cdn.example/m")
    item, warnings = prepare_instagram_image(
        _article(image_url),
        ChannelSettings(),
        store=store,
        client=server.client(),
        policy=POLICY,
        resolver=resolver_for(resolve),
    )
    assert Path(item.path).read_bytes() == headline_card("Dar in Istanbul", source="southasiandesk")
    assert (item.width, item.height) == (1080, 1350)
    assert len(warnings) == 1
    assert warnings[0].startswith("The article image was not used (")
    assert why in warnings[0]
    assert warnings[0].endswith("; a headline card was generated instead.")
