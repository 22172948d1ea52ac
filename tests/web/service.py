"""``newsrelay run`` as a child process for browser tests, with the CLI to drive it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from scheduler.db.engine import make_engine
from scheduler.models import Article, Channel, DeliveryAttempt, Post
from tests.conftest import FIXTURE_ARTICLE
from tests.utils.stack import free_port, wait_until

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct-horse-battery"


class RunningService:
    """A data dir, the CLI with its environment, and ``newsrelay run`` serving on a free port."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.port = free_port()
        self.sandbox_port = free_port()
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("NEWSRELAY_")},
            "NEWSRELAY_ENVIRONMENT": "test",
            "NEWSRELAY_DATA_DIR": str(tmp / "data"),
            "NEWSRELAY_SANDBOX_PORT": str(self.sandbox_port),
            "NEWSRELAY_DISPATCH_INTERVAL": "0.2",
            "NEWSRELAY_REAP_INTERVAL": "0.5",
            "NEWSRELAY_BACKOFF_BASE_SECONDS": "0.5",
            "NEWSRELAY_BACKOFF_MAX_SECONDS": "2",
            "NEWSRELAY_INSTAGRAM__CONTAINER_POLL_INTERVAL": "0.1",
            "NEWSRELAY_HTTP__CONNECT_TIMEOUT": "2",
            "NEWSRELAY_IMAGES__FETCH_TIMEOUT": "2",
            "NEWSRELAY_LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(ROOT),
        }
        self.log_path = tmp / "service.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.engine: Engine = make_engine(f"sqlite:///{tmp / 'data' / 'newsrelay.sqlite'}")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def sandbox_url(self) -> str:
        return f"http://127.0.0.1:{self.sandbox_port}"

    def cli(self, *args: str) -> str:
        """Run ``newsrelay <args>`` with the service's environment; fail with its output."""
        done = subprocess.run(
            [sys.executable, "-m", "scheduler.cli.app", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if done.returncode != 0:
            raise AssertionError(f"newsrelay {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
        return done.stdout

    def start(self) -> None:
        log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "scheduler.cli.app", "run", "--port", str(self.port)],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its worker child goes with it on stop()
        )
        wait_until(self._healthy, timeout=60, message="newsrelay run to serve\n" + self.logs())

    def _healthy(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError("newsrelay run exited:\n" + self.logs())
        try:
            return httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
        self.engine.dispose()

    # --- reading the service's database (assertions only; the UI drives every change) -------
    def channel(self, platform: str) -> Channel:
        with Session(self.engine) as s:
            found = s.exec(select(Channel).where(col(Channel.platform) == platform)).first()
            assert found is not None, platform
            return found

    def posts(self, external_id: str) -> dict[str, Post]:
        with Session(self.engine) as s:
            rows = s.exec(
                select(Post)
                .join(Article, col(Article.id) == col(Post.article_id))
                .where(col(Article.external_id) == external_id)
            ).all()
            return {str(p.platform): p for p in rows}

    def attempts(self, post_id: Any) -> list[DeliveryAttempt]:
        with Session(self.engine) as s:
            return list(
                s.exec(select(DeliveryAttempt).where(col(DeliveryAttempt.post_id) == post_id))
            )

    def add_article(self, data: dict[str, Any]) -> str:
        path = self.tmp / f"{data['external_id'][-40:]}.json"
        path.write_text(json.dumps(data), encoding="utf-8")
        self.cli("articles", "add", str(path))
        return str(data["external_id"])

    def wait_posts(self, external_id: str, want: dict[str, set[str]], timeout: float = 60) -> Any:
        def ready() -> dict[str, Post] | None:
            posts = self.posts(external_id)
            ok = all(str(posts[k].status) in v for k, v in want.items() if k in posts)
            return posts if ok and set(want) <= set(posts) else None

        try:
            return wait_until(ready, timeout=timeout, message=f"posts of {external_id}")
        except AssertionError as exc:
            now = {k: (str(p.status), p.last_error) for k, p in self.posts(external_id).items()}
            raise AssertionError(f"{exc}: wanted {want}, have {now}\n{self.logs()}") from None


def fixture_article(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(FIXTURE_ARTICLE.read_text(encoding="utf-8"))
    data.update(changes)
    return data


def variant(tag: str, **changes: Any) -> dict[str, Any]:
    """The fixture article with its own id and title, for posts independent of earlier tests."""
    data = fixture_article()
    data["external_id"] = f"{data['external_id']}-{tag}"
    data["title"] = f"{data['title']} ({tag})"
    # Platforms refuse a message identical to the last one, so every variant reads differently.
    data["summary"] = f"{data['summary']} [{tag}]"
    data["url"] = f"{data['url']}?v={tag}"
    data.update(changes)
    return data


def wait_seconds(seconds: float) -> None:
    time.sleep(seconds)


def configure_channel(service: RunningService, platform: str, **changes: Any) -> None:
    """Setup through the channel service on the service's database (as an admin would)."""
    from scheduler.channels import update_channel
    from scheduler.db.engine import session_scope

    with session_scope(service.engine) as s:
        channel = s.exec(select(Channel).where(col(Channel.platform) == platform)).one()
        settings = {**channel.settings, **changes.pop("settings", {})}
        update_channel(
            session=s, channel=channel, actor="test", channel_settings=settings, **changes
        )
