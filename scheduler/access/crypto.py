"""Channel credentials encrypted at rest with Fernet; MultiFernet so keys can be rotated."""

from __future__ import annotations

import base64
import hashlib
import json

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from config import Settings


def _derived_key(secret: str) -> bytes:
    # A key derived from the service secret, so the embedded default needs no extra setting.
    digest = hashlib.sha256(b"newsrelay-credentials:" + secret.encode("utf-8")).digest()
    return base64.urlsafe_b64encode(digest)


def credential_cipher(settings: Settings) -> MultiFernet:
    """Encrypts with the first configured key; decrypts with any (rotation)."""
    keys = [Fernet(k.get_secret_value().encode()) for k in settings.encryption_keys]
    keys.append(Fernet(_derived_key(settings.secret_key.get_secret_value())))
    return MultiFernet(keys)


def encrypt_credentials(credentials: dict[str, str], *, settings: Settings) -> str:
    """Ciphertext for a credentials dict."""
    raw = json.dumps(credentials, sort_keys=True).encode("utf-8")
    return credential_cipher(settings).encrypt(raw).decode("ascii")


def decrypt_credentials(ciphertext: str, *, settings: Settings) -> dict[str, str]:
    """The credentials dict, or a clear error that names no secret."""
    if not ciphertext:
        return {}
    try:
        raw = credential_cipher(settings).decrypt(ciphertext.encode("ascii"))
    except InvalidToken:
        raise ValueError(
            "channel credentials cannot be decrypted with the configured keys "
            "(NEWSRELAY_ENCRYPTION_KEYS / NEWSRELAY_SECRET_KEY changed?)"
        ) from None
    data: dict[str, str] = json.loads(raw)
    return data


def rotate_ciphertext(ciphertext: str, *, settings: Settings) -> str:
    """Re-encrypt with the newest key."""
    return credential_cipher(settings).rotate(ciphertext.encode("ascii")).decode("ascii")
