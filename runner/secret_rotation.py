"""Rotating the key that seals stored values (``zunray secrets rotate-key``).

With the key file (the default): a new key goes first in the file, the old ones stay after it
so every value still opens (running processes read the file again when it changes), every sealed
value in the store (secrets, registry passwords) is re-sealed with the new key, a second pass
takes what another process sealed with an old key meanwhile, and only then are the old keys
dropped from the file. Interrupted, it leaves the old keys in place: running it again is safe.

With ``secret_key`` set (several hosts): the operator puts the new key first in that setting on
every host (``new,old``) and restarts them; this then re-seals every value with the first key,
after which the old keys can be removed from the setting.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.fernet import Fernet

from runner.errors import Conflict
from runner.secrets import SecretBox, key_file, write_key_file
from runner.settings import Settings
from runner.store import Store


@dataclass(frozen=True, slots=True)
class Rotation:
    resealed: int  # values re-sealed with the new key
    keys_dropped: int  # old keys removed from the key file (0 with the secret_key setting)
    from_file: bool


def rotate_key(store: Store, settings: Settings) -> Rotation:
    box = SecretBox(settings)
    old = box.keys
    if box.from_file:
        write_key_file(key_file(settings), [Fernet.generate_key(), *old])
    resealed = 0
    for _ in range(2):  # the second pass: values sealed with an old key during the first
        resealed += store.secrets.reseal_all(box.reseal, box.sealed_with_first)
    left = [v for _, _, v in store.secrets.sealed_rows() if not box.sealed_with_first(v)]
    if left:
        raise Conflict(f"{len(left)} values are still sealed with an old key: run it again")
    if not box.from_file:
        return Rotation(resealed=resealed, keys_dropped=0, from_file=False)
    write_key_file(key_file(settings), box.keys[:1])
    return Rotation(resealed=resealed, keys_dropped=len(old), from_file=True)
