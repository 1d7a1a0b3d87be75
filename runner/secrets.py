"""Sealing of stored secret values (secrets, registry passwords) with Fernet keys that can rotate.

The keys are ``Settings.secret_key`` when set (comma-separated, the first seals; give every host
the same), otherwise the key file ``<data_dir>/secret.key`` (one key a line, the first seals),
created once with mode 0600. Every key in the list opens (``MultiFernet``), so a value sealed
with the previous key still opens while a rotation is under way. The key file is read again
whenever it changes, so running gateways and node actors follow a rotation without a restart.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from runner.errors import InvalidSpec, Unavailable
from runner.private_files import FILE_MODE, private_dir
from runner.settings import Settings


def parse_keys(text: str, *, separator: str | None = None) -> list[bytes]:
    """Fernet keys from a setting (``separator=","``) or a key file (one a line), in order."""
    parts = text.split(separator) if separator else text.splitlines()
    keys = [p.strip().encode() for p in parts if p.strip()]
    if not keys:
        raise InvalidSpec("no secret key given", field="secret_key")
    for key in keys:
        try:
            Fernet(key)
        except ValueError as exc:
            raise InvalidSpec(
                "a secret key is not a Fernet key (32 url-safe base64 bytes)", field="secret_key"
            ) from exc
    return keys


def key_file(settings: Settings) -> Path:
    return settings.data_dir / "secret.key"


def write_key_file(path: Path, keys: list[bytes]) -> None:
    """Replace the key file at once (a reader sees the old list or the new, never half)."""
    private_dir(path.parent)
    tmp = path.with_name(path.name + ".new")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    with os.fdopen(fd, "wb") as f:
        f.write(b"\n".join(keys) + b"\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


class SecretBox:
    """Seals with the first key, opens with any (``MultiFernet``)."""

    def __init__(self, settings: Settings) -> None:
        self._path: Path | None = None
        self._seen: tuple[int, int] | None = None  # the key file's (mtime_ns, inode) last read
        if settings.secret_key:
            self._keys = parse_keys(settings.secret_key, separator=",")
        else:
            self._path = key_file(settings)
            if not self._path.exists():
                private_dir(settings.data_dir)
                try:
                    fd = os.open(self._path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
                except FileExistsError:
                    pass  # another process created it first: read theirs
                else:
                    with os.fdopen(fd, "wb") as f:
                        f.write(Fernet.generate_key() + b"\n")
            self._keys = []
            self._reload()
        self._fernet = MultiFernet([Fernet(k) for k in self._keys])

    @property
    def keys(self) -> list[bytes]:
        """The keys in use, the sealing one first."""
        self._reload()
        return list(self._keys)

    @property
    def from_file(self) -> bool:
        return self._path is not None

    def _reload(self) -> None:
        if self._path is None:
            return
        st = self._path.stat()
        if self._seen == (st.st_mtime_ns, st.st_ino):
            return
        self._keys = parse_keys(self._path.read_text())
        self._fernet = MultiFernet([Fernet(k) for k in self._keys])
        self._seen = (st.st_mtime_ns, st.st_ino)

    def seal(self, plain: str | None) -> str | None:
        self._reload()
        return None if plain is None else self._fernet.encrypt(plain.encode()).decode()

    def open(self, sealed: str | None) -> str | None:
        if sealed is None:
            return None
        self._reload()
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken as exc:
            raise Unavailable("a stored secret cannot be decrypted with this secret key") from exc

    def reseal(self, sealed: str) -> str:
        """The same value sealed with the first key (``MultiFernet.rotate``)."""
        self._reload()
        try:
            return self._fernet.rotate(sealed.encode()).decode()
        except InvalidToken as exc:
            raise Unavailable("a stored secret cannot be decrypted with this secret key") from exc

    def sealed_with_first(self, sealed: str) -> bool:
        """Whether the first key alone opens it (a rotation's check before the old key goes)."""
        self._reload()
        try:
            Fernet(self._keys[0]).decrypt(sealed.encode())
        except InvalidToken:
            return False
        return True
