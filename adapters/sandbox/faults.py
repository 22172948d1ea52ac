"""Injectable faults, per account and platform (DESIGN.md "Sandbox platform").

A fault config applies to one account (``"*"`` for every account) on one platform (``None`` for
all three).  The most specific config wins: (account, platform), (account, any), (*, platform),
(*, any).  Calls come in three actions:

- ``read``: lists and status polls; only latency and an expired token apply;
- ``write``: a create that does not make anything live (the Instagram container);
- ``live``: a call that makes a post live (X create, Facebook feed/photos, IG media_publish);
  only these can be "accepted, then dropped".
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any

PLATFORM_NAMES = ("x", "instagram", "facebook")
FAULT_KINDS = (
    "5xx",
    "drop",
    "429",
    "expired",
    "duplicate",
    "permanent",
    "usage_capped",
    "credits",
    "blocked",
    "container_error",
)
_FIELDS = (
    "latency_ms",
    "error_rate",
    "drop_rate",
    "rate_limit_seconds",
    "expired_token",
    "duplicate",
    "permanent",
    "blocked",
    "container_error",
    "container_delay_ms",
    "quota_total",
    "x_limit_15min",
    "seed",
    "fail_next",
)


class FaultError(ValueError):
    """A fault config that cannot be applied; the message says which field is wrong."""


@dataclass
class OneShot:
    """``fail_next``: the next ``count`` applicable calls fail with ``kind``."""

    kind: str
    count: int
    seconds: int | None = None


@dataclass
class FaultConfig:
    account: str
    platform: str | None = None
    latency_ms: int = 0
    error_rate: float = 0.0
    drop_rate: float = 0.0
    rate_limit_seconds: int = 0
    expired_token: bool = False
    duplicate: bool = False
    permanent: bool = False
    blocked: bool = False
    container_error: bool = False
    container_delay_ms: int | None = None
    quota_total: int | None = None
    x_limit_15min: int | None = None
    seed: int | None = None
    fail_next: list[OneShot] = field(default_factory=list)
    set_at: float = field(default_factory=time.time)
    rng: random.Random = field(default_factory=random.Random, repr=False)

    @property
    def rate_limited_until(self) -> float | None:
        return self.set_at + self.rate_limit_seconds if self.rate_limit_seconds > 0 else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "account": self.account,
            "platform": self.platform,
            **{name: getattr(self, name) for name in _FIELDS if name != "fail_next"},
            "fail_next": [
                {"kind": s.kind, "count": s.count, "seconds": s.seconds} for s in self.fail_next
            ],
            "rate_limited_until": self.rate_limited_until,
            "set_at": self.set_at,
        }


@dataclass
class FaultDecision:
    """What to do to one call: sleep, fail with ``fault``, and/or drop after accepting."""

    latency: float = 0.0
    fault: str | None = None
    drop: bool = False
    reset_at: float | None = None


def applies(kind: str, platform: str, action: str) -> bool:
    """Whether fault ``kind`` makes sense for this call (PLATFORMS.md §1.6, §3.4, §4.4)."""
    if action == "read":
        return kind == "expired"
    checks = {
        "drop": action == "live",
        "duplicate": action == "live" and platform in ("x", "facebook"),
        "permanent": (action == "write") if platform == "instagram" else (action == "live"),
        "usage_capped": platform == "x",
        "credits": platform == "x",
        "blocked": platform != "x",
        "container_error": platform == "instagram" and action == "write",
    }
    return checks.get(kind, True)


def parse_fault(data: dict[str, Any]) -> FaultConfig:
    """Validate an admin ``POST /_sandbox/faults`` body."""
    if not isinstance(data, dict):
        raise FaultError("body must be a JSON object")
    unknown = set(data) - {"account", "platform", *_FIELDS}
    if unknown:
        raise FaultError(f"unknown fields: {', '.join(sorted(unknown))}")
    account = data.get("account") or "*"
    platform = data.get("platform")
    if platform not in (None, *PLATFORM_NAMES):
        raise FaultError("platform must be x, instagram, facebook or null")
    config = FaultConfig(account=str(account), platform=platform)
    for name in ("error_rate", "drop_rate"):
        value = _number(data, name, 0.0)
        if not 0.0 <= value <= 1.0:
            raise FaultError(f"{name} must be between 0 and 1")
        setattr(config, name, value)
    for name in ("latency_ms", "rate_limit_seconds"):
        value = int(_number(data, name, 0))
        if not 0 <= value <= 86_400_000:
            raise FaultError(f"{name} must be a non-negative integer")
        setattr(config, name, value)
    for name in ("container_delay_ms", "quota_total", "x_limit_15min", "seed"):
        if data.get(name) is not None:
            setattr(config, name, int(_number(data, name, 0)))
    for name in ("expired_token", "duplicate", "permanent", "blocked", "container_error"):
        setattr(config, name, bool(data.get(name, False)))
    config.fail_next = _parse_fail_next(data.get("fail_next"))
    config.rng = random.Random(config.seed)
    return config


def _number(data: dict[str, Any], name: str, default: float) -> float:
    value = data.get(name, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FaultError(f"{name} must be a number")
    return float(value)


def _parse_fail_next(value: Any) -> list[OneShot]:
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    shots = []
    for item in items:
        if not isinstance(item, dict) or item.get("kind") not in FAULT_KINDS:
            raise FaultError(f"fail_next.kind must be one of {', '.join(FAULT_KINDS)}")
        count = item.get("count", 1)
        if not isinstance(count, int) or count < 1:
            raise FaultError("fail_next.count must be a positive integer")
        seconds = item.get("seconds")
        shots.append(OneShot(item["kind"], count, int(seconds) if seconds is not None else None))
    return shots


class FaultBook:
    """The fault configs in force; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._configs: dict[tuple[str, str | None], FaultConfig] = {}

    def set(self, config: FaultConfig) -> None:
        with self._lock:
            self._configs[(config.account, config.platform)] = config

    def clear(self, account: str | None = None) -> None:
        with self._lock:
            if account is None:
                self._configs.clear()
            else:
                for key in [k for k in self._configs if k[0] == account]:
                    del self._configs[key]

    def list(self) -> list[FaultConfig]:
        with self._lock:
            return list(self._configs.values())

    def lookup(self, account: str | None, platform: str) -> FaultConfig | None:
        """The most specific config for this account and platform."""
        with self._lock:
            for key in ((account, platform), (account, None), ("*", platform), ("*", None)):
                if key[0] is not None and key in self._configs:
                    return self._configs[key]
        return None

    def decide(self, account: str | None, platform: str, action: str) -> FaultDecision:
        """Roll the dice for one call; one-shot faults are consumed here."""
        config = self.lookup(account, platform)
        if config is None:
            return FaultDecision()
        now = time.time()
        with self._lock:
            decision = FaultDecision(latency=config.latency_ms / 1000)
            if config.expired_token:
                decision.fault = "expired"
                return decision
            for shot in config.fail_next:
                # One-shots hit create/publish calls only, never lists or status polls.
                if action != "read" and applies(shot.kind, platform, action):
                    shot.count -= 1
                    if shot.count <= 0:
                        config.fail_next.remove(shot)
                    if shot.kind == "drop":
                        decision.drop = True
                    else:
                        decision.fault = shot.kind
                        seconds = shot.seconds or config.rate_limit_seconds or 60
                        decision.reset_at = now + seconds
                    return decision
            if action == "read":
                return decision
            until = config.rate_limited_until
            if until is not None and now < until:
                decision.fault, decision.reset_at = "429", until
            elif config.blocked and applies("blocked", platform, action):
                decision.fault = "blocked"
            elif config.duplicate and applies("duplicate", platform, action):
                decision.fault = "duplicate"
            elif config.permanent and applies("permanent", platform, action):
                decision.fault = "permanent"
            elif config.error_rate and config.rng.random() < config.error_rate:
                decision.fault = "5xx"
            elif config.container_error and applies("container_error", platform, action):
                decision.fault = "container_error"
            elif action == "live" and config.drop_rate and config.rng.random() < config.drop_rate:
                decision.drop = True
            return decision
