"""Encryption of stored secrets (registry passwords) with Fernet.

The key is ``Settings.secret_key`` when set (give every host the same one),
otherwise a key file created once in the data directory (mode 0600).
"""

from __future__ import annotations

import os

from cryptography.fernet import Fernet, InvalidToken

from runner.errors import Unavailable
from runner.private_files import FILE_MODE, private_dir
from runner.settings import Settings


class SecretBox:
    def __init__(self, settings: Settings) -> None:
        key = settings.secret_key
        if not key:
            path = settings.data_dir / "secret.key"
            if not path.exists():
                private_dir(settings.data_dir)
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
                with os.fdopen(fd, "wb") as f:
                    f.write(Fernet.generate_key())
            key = path.read_text().strip()
        self._fernet = Fernet(key.encode() if isinstance(key, str) else key)

    def seal(self, plain: str | None) -> str | None:
        return None if plain is None else self._fernet.encrypt(plain.encode()).decode()

    def open(self, sealed: str | None) -> str | None:
        if sealed is None:
            return None
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken as exc:
            raise Unavailable("a stored secret cannot be decrypted with this secret key") from exc
