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


class EncryptionKeysInvalid(ValueError):
    """The encryption key settings are missing or malformed; the message names no key."""


def newest_key(settings: Settings) -> Fernet:
    """The first (newest) configured key, the one new ciphertext is made with.

    Raises :class:`EncryptionKeysInvalid` when NEWSRELAY_ENCRYPTION_KEYS is empty (rotation
    needs an explicit new key) or any entry is not a Fernet key.
    """
    if not settings.encryption_keys:
        raise EncryptionKeysInvalid(
            "NEWSRELAY_ENCRYPTION_KEYS is not set: put the new key first and keep the old ones "
            "after it (a JSON list of Fernet keys), then rotate"
        )
    return _fernets(settings)[0]


def _fernets(settings: Settings) -> list[Fernet]:
    keys = []
    for number, key in enumerate(settings.encryption_keys, start=1):
        try:
            keys.append(Fernet(key.get_secret_value().encode()))
        except (ValueError, TypeError):  # binascii.Error is a ValueError
            raise EncryptionKeysInvalid(
                f"NEWSRELAY_ENCRYPTION_KEYS entry {number} is not a Fernet key "
                "(32 url-safe base64-encoded bytes, e.g. from Fernet.generate_key())"
            ) from None
    return keys


def credential_cipher(settings: Settings) -> MultiFernet:
    """Encrypts with the first configured key; decrypts with any (rotation)."""
    keys = _fernets(settings)
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


def rotate_ciphertext(ciphertext: str, *, settings: Settings) -> str | None:
    """The ciphertext re-encrypted with the newest key, or None if it already is.

    Raises :class:`EncryptionKeysInvalid` for bad key settings and ``ValueError`` (naming no
    secret) when no configured key decrypts it.
    """
    raw = ciphertext.encode("ascii")
    try:
        newest_key(settings).decrypt(raw)
    except InvalidToken:
        pass
    else:
        return None  # already made with the newest key: rotating again would only churn
    try:
        return credential_cipher(settings).rotate(raw).decode("ascii")
    except InvalidToken:
        raise ValueError("cannot be decrypted with any configured key") from None
