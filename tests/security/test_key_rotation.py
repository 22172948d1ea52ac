"""``newsrelay keys rotate-encryption`` moves every stored credential to the newest key, so the
old key can be dropped; it is idempotent, says what it did and never prints a secret."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken

from scheduler.channels import sandbox_token

NEWSRELAY = [sys.executable, "-m", "scheduler.cli.app"]


def _cli(*args: str, data_dir: Path, keys: list[str] | None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NEWSRELAY_DATA_DIR": str(data_dir)}
    env.pop("NEWSRELAY_DATABASE_URL", None)
    env.pop("NEWSRELAY_ENCRYPTION_KEYS", None)
    if keys is not None:
        env["NEWSRELAY_ENCRYPTION_KEYS"] = json.dumps(keys)
    return subprocess.run(
        [*NEWSRELAY, *args], capture_output=True, text=True, env=env, timeout=120, check=False
    )


def _ciphertexts(data_dir: Path) -> dict[str, str]:
    engine = sa.create_engine(f"sqlite:///{data_dir / 'newsrelay.sqlite'}")
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT name, credentials_encrypted FROM channel")).all()
    engine.dispose()
    return {name: ciphertext for name, ciphertext in rows}


def test_rotation_moves_every_credential_to_the_new_key_once(tmp_path: Path) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    # The embedded default stores its sandbox channels' tokens with the old key.
    assert _cli("channels", "list", data_dir=tmp_path, keys=[old]).returncode == 0
    before = _ciphertexts(tmp_path)
    assert len(before) == 3
    assert all(Fernet(old.encode()).decrypt(c.encode()) for c in before.values())

    first = _cli("keys", "rotate-encryption", "--json", data_dir=tmp_path, keys=[new, old])
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout) == {"rotated": 3, "already_current": 0}
    after = _ciphertexts(tmp_path)
    for name, ciphertext in after.items():
        with pytest.raises(InvalidToken):
            Fernet(old.encode()).decrypt(ciphertext.encode())
        credentials = json.loads(Fernet(new.encode()).decrypt(ciphertext.encode()))
        assert credentials["access_token"].startswith(sandbox_token(""))
        assert after[name] != before[name]

    # The new key alone now serves the channels: the old one can be dropped.
    assert _cli("channels", "list", data_dir=tmp_path, keys=[new]).returncode == 0
    again = _cli("keys", "rotate-encryption", data_dir=tmp_path, keys=[new])
    assert again.returncode == 0, again.stderr
    assert "rotated 0 encrypted value(s)" in again.stdout and "3 already used it" in again.stdout
    assert _ciphertexts(tmp_path) == after  # nothing churned

    for result in (first, again):
        for secret in (
            old,
            new,
            *(
                json.loads(Fernet(new.encode()).decrypt(c.encode()))["access_token"]
                for c in after.values()
            ),
        ):
            assert secret not in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        (None, "NEWSRELAY_ENCRYPTION_KEYS is not set"),
        (["not-a-fernet-key-SECRET"], "entry 1 is not a Fernet key"),
    ],
)
def test_rotation_refuses_missing_or_malformed_keys_and_changes_nothing(
    tmp_path: Path, keys: list[str] | None, expected: str
) -> None:
    old = Fernet.generate_key().decode()
    assert _cli("channels", "list", data_dir=tmp_path, keys=[old]).returncode == 0
    before = _ciphertexts(tmp_path)
    result = _cli("keys", "rotate-encryption", data_dir=tmp_path, keys=keys)
    assert result.returncode == 2 and expected in result.stderr, result.stderr
    assert "SECRET" not in result.stderr + result.stdout and "Traceback" not in result.stderr
    assert _ciphertexts(tmp_path) == before


def test_rotation_without_the_old_key_fails_whole_and_names_the_channel(tmp_path: Path) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    assert _cli("channels", "list", data_dir=tmp_path, keys=[old]).returncode == 0
    before = _ciphertexts(tmp_path)
    result = _cli("keys", "rotate-encryption", data_dir=tmp_path, keys=[new])
    assert result.returncode == 2
    assert "cannot be decrypted with any configured key" in result.stderr
    assert "Sandbox" in result.stderr and old not in result.stderr and new not in result.stderr
    assert _ciphertexts(tmp_path) == before
