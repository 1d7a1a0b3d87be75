"""Moving images between engines and out of them: ``docker save``, ``docker load``
(with the data's own tags removed) and an image's files as a tar stream.

The VM runtime builds a guest's root from an image's files; Nova servers and the
Glance driver load images into an engine. Functions over one ``DockerRuntime``
(the same driver: its calls translate Docker errors into ``runner.errors``).
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

import requests
from docker import errors as derr

from runner.errors import ImageUnavailable
from runner.images.tarball import strip_tags
from runner.runtimes.docker import LABEL, DockerRuntime
from runner.runtimes.docker_pulls import explain


def save(engine: DockerRuntime, image: str) -> bytes:
    """``docker save`` of one image (to load it into another engine)."""
    return b"".join(engine._call("get_image", image))  # noqa: SLF001 - the same driver


def image_id(engine: DockerRuntime, image: str) -> str:
    return engine._call("inspect_image", image)["Id"]  # noqa: SLF001


@contextmanager
def exported(engine: DockerRuntime, image: str) -> Iterator[io.BufferedReader]:
    """The image's files as a tar stream (``docker export`` of a never-started container)."""
    labels = {f"{LABEL}.instance": engine.instance, f"{LABEL}.role": "export"}
    cid = engine._call("create_container", image, command=["true"], labels=labels)["Id"]  # noqa: SLF001
    try:
        yield io.BufferedReader(_ChunkReader(engine._call("export", cid)), buffer_size=1 << 20)  # noqa: SLF001
    finally:
        engine.remove(cid)


def load_image(engine: DockerRuntime, data: bytes, *, tag_as: str) -> None:
    """``docker load`` a saved image and tag it ``tag_as`` (repo:tag), and only that:
    the tags the data carries are removed first (they could name any image on the host)."""
    try:
        with tempfile.TemporaryFile() as untagged:
            strip_tags(io.BytesIO(data), untagged)
            untagged.seek(0)
            messages = list(engine._api.load_image(untagged))  # noqa: SLF001
    except (requests.exceptions.RequestException, derr.DockerException) as exc:
        raise ImageUnavailable(f"cannot load image {tag_as}: {explain(exc)}") from exc
    loaded = None
    for m in messages:
        text = str(m.get("stream", ""))
        if "Loaded image ID:" in text or "Loaded image:" in text:
            loaded = text.split(":", 1)[1].strip()
        if m.get("error"):
            raise ImageUnavailable(f"cannot load image {tag_as}: {m['error']}")
    if loaded is None:
        raise ImageUnavailable(f"the data for {tag_as} held no image")
    repo, tag = tag_as.rsplit(":", 1)
    engine._call("tag", loaded, repo, tag)  # noqa: SLF001
    engine.saw_present(tag_as)


class _ChunkReader(io.RawIOBase):
    """A file over the byte chunks the Docker SDK streams."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = iter(chunks)
        self._buf = b""

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:  # noqa: ANN001
        while not self._buf:
            try:
                self._buf = next(self._chunks)
            except StopIteration:
                return 0
        n = min(len(b), len(self._buf))
        b[:n], self._buf = self._buf[:n], self._buf[n:]
        return n
