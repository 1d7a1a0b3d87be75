"""Image references, commit targets and untagged loads: pure logic, no Docker."""

from __future__ import annotations

import io
import json
import tarfile

import pytest
from docker import errors as derr

from gateway.zun.commit import commit_target
from runner.errors import Forbidden, ImageUnavailable, InvalidSpec
from runner.images.refs import check_reference, parse
from runner.images.tarball import strip_tags
from runner.models import PullPolicy
from runner.runtimes.docker_pulls import ImagePulls, named


@pytest.mark.parametrize(
    ("ref", "host", "normalized"),
    [
        ("busybox", None, "busybox:latest"),
        ("team/app:1", None, "team/app:1"),
        ("127.0.0.1:5000/p/x", "127.0.0.1:5000", "127.0.0.1:5000/p/x:latest"),
        ("localhost/x:2", "localhost", "localhost/x:2"),
        ("reg.example/x@sha256:" + "a" * 64, "reg.example", "reg.example/x@sha256:" + "a" * 64),
    ],
    ids=["bare", "tagged", "host-port", "localhost", "digest"],
)
def test_parse_finds_the_registry_host(ref, host, normalized):
    assert parse(ref).host == host
    assert parse(ref).normalized == normalized


@pytest.mark.parametrize(
    ("ref", "allowed", "error"),
    [
        ("busybox:latest", (), None),
        ("127.0.0.1:5000/x:1", ("127.0.0.1",), None),
        ("127.0.0.1:5000/x:1", ("127.0.0.1:5000",), None),
        ("127.0.0.1:5001/x:1", ("127.0.0.1:5000",), Forbidden),
        ("169.254.169.254/x:1", (), Forbidden),
        ("internal.corp:443/x", ("127.0.0.1",), Forbidden),
        ("sha256:ad020d", (), InvalidSpec),
    ],
    ids=[
        "no-host",
        "host-any-port",
        "host-port",
        "other-port",
        "link-local",
        "internal-name",
        "id-prefix",
    ],
)
def test_check_reference_applies_the_operator_list(ref, allowed, error):
    if error is None:
        check_reference(ref, allowed_registries=allowed)
    else:
        with pytest.raises(error):
            check_reference(ref, allowed_registries=allowed)


def test_untagged_names_get_latest_and_ids_are_refused():
    assert named("ad020d2c96c4") == "ad020d2c96c4:latest"  # never Docker's lookup by id prefix
    assert named("busybox:1") == "busybox:1"
    with pytest.raises(ImageUnavailable):
        named("sha256:ad020d")


@pytest.mark.parametrize(
    ("repository", "tag", "error", "namespaced"),
    [
        ("p1/app", "1", None, True),
        ("other/app", None, None, False),  # an access rule decides (admin only by default)
        ("busybox", "latest", Forbidden, None),
        ("busybox", None, Forbidden, None),
        ("zunray/python", "3.11", Forbidden, None),
        ("p1/app@sha256", "x", InvalidSpec, None),
        ("P1/App", "1", InvalidSpec, None),
    ],
    ids=[
        "own-namespace",
        "elsewhere",
        "platform",
        "platform-untagged",
        "python-runtime",
        "digest",
        "malformed",
    ],
)
def test_commit_target(repository, tag, error, namespaced):
    if error is not None:
        with pytest.raises(error):
            commit_target(
                repository,
                tag,
                project_id="p1",
                platform_images=("busybox:latest", "zunray/python:3.11"),
            )
        return
    assert (
        commit_target(
            repository, tag, project_id="p1", platform_images=("busybox:latest",)
        ).namespaced
        is namespaced
    )


def _saved(manifest: list, *, repositories: bool = True) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in (
            ("layer/layer.tar", b"x" * 10),
            ("manifest.json", json.dumps(manifest).encode()),
        ) + ((("repositories", b'{"busybox": {"latest": "abc"}}'),) if repositories else ()):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_strip_tags_removes_the_tarballs_own_tags():
    data = _saved(
        [{"Config": "c.json", "RepoTags": ["busybox:latest"], "Layers": ["layer/layer.tar"]}]
    )
    out = io.BytesIO()
    strip_tags(io.BytesIO(data), out)
    with tarfile.open(fileobj=io.BytesIO(out.getvalue())) as tar:
        assert "repositories" not in tar.getnames()
        assert json.loads(tar.extractfile("manifest.json").read())[0]["RepoTags"] is None
        assert tar.extractfile("layer/layer.tar").read() == b"x" * 10


@pytest.mark.parametrize(
    "data",
    [
        _saved(
            [
                {"Config": "a.json", "RepoTags": ["a:1"]},
                {"Config": "b.json", "RepoTags": ["busybox:latest"]},
            ]
        ),
        b"not a tarball at all",
    ],
    ids=["two-images", "garbage"],
)
def test_strip_tags_refuses_what_is_not_one_image(data):
    with pytest.raises(ImageUnavailable):
        strip_tags(io.BytesIO(data), io.BytesIO())


class _Engine:
    """An engine without the image whose pull streams ``events`` (dockerd's JSON lines)."""

    def __init__(self, events: list[dict]) -> None:
        self.events = events

    def inspect_image(self, image: str) -> dict:
        raise derr.NotFound(f"no such image: {image}")

    def pull(self, repo: str, *, tag: str, auth_config: dict | None, stream: bool, decode: bool):  # noqa: ANN201
        assert stream and decode  # a pull is read as it comes
        yield from self.events


def _downloading(layer: str, current: int, total: int) -> dict:
    return {
        "status": "Downloading",
        "id": layer,
        "progressDetail": {"current": current, "total": total},
    }


def test_a_pull_tells_how_many_bytes_of_how_many_it_has():
    words: list[str] = []
    events = [
        {"status": "Pulling from x", "id": "1"},
        {"status": "Pulling fs layer", "id": "a"},
        _downloading("a", 1_000_000, 3_000_000),
        _downloading("b", 500_000, 2_000_000),
        {"status": "Download complete", "id": "a"},
        {"status": "Extracting", "id": "a", "progressDetail": {"current": 1, "total": 3_000_000}},
        {"status": "Pull complete", "id": "a"},
    ]
    ImagePulls(_Engine(events), node="h1", allowed_registries=("127.0.0.1",)).ensure(
        "127.0.0.1:5000/x:1", PullPolicy.IF_NOT_PRESENT, progress=words.append
    )
    assert words == [
        "pulling 127.0.0.1:5000/x:1",
        "pulling 127.0.0.1:5000/x:1: 1.0 MB of 3.0 MB",
        "pulling 127.0.0.1:5000/x:1: 1.5 MB of 5.0 MB",
        "pulling 127.0.0.1:5000/x:1: 3.5 MB of 5.0 MB",
        "pulling 127.0.0.1:5000/x:1: 3.5 MB of 5.0 MB, unpacking",
    ]


def test_an_error_dockerd_reports_mid_pull_fails_the_pull_in_our_words():
    events = [_downloading("a", 1, 2), {"error": "manifest unknown: at 10.0.0.7:5000"}]
    with pytest.raises(ImageUnavailable, match="the registry has no such image") as exc:
        ImagePulls(_Engine(events), node="h1", allowed_registries=("127.0.0.1",)).ensure(
            "127.0.0.1:5000/x:1", PullPolicy.IF_NOT_PRESENT
        )
    assert "10.0.0.7" not in str(exc.value)
