"""Issue 14, item 9: a project's containers reach neither the host, nor link-local, nor the infrastructure.

Traffic goes only to listeners these tests create: a network namespace of their own, joined
to the host by a veth pair holding addresses from a private range (10.213.N.0/24), with a
TCP listener inside and one on the host's end of the pair. Link-local is checked by the rule
being there, never by sending anything to it.
"""

from __future__ import annotations

import logging
import secrets
import socket
import subprocess
import sys
import time
import types
import uuid

import pytest

from actors.node_nova import nova_pool
from runner.runtimes.docker import DockerRuntime
from runner.runtimes.egress import LINK_LOCAL, Firewall, chain_name, chain_rules, host_resolvers
from runner.runtimes.networks import BRIDGE_OPTION, ProjectNetworks, remove_project_networks
from runner.settings import Settings
from tests.conftest import free_port

docker_ray = [pytest.mark.docker, pytest.mark.ray]

SERVE = """
import socket, sys
server = socket.create_server((sys.argv[1], int(sys.argv[2])))
while True:
    conn, _ = server.accept()
    with conn:
        conn.sendall(b"pong\\n")
"""
PROBE = "echo ping | nc -w 3 {addr} {port} || echo blocked"


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


def _answers(addr: str, port: int) -> bool:
    try:
        with socket.create_connection((addr, port), timeout=2) as conn:
            return conn.recv(16) == b"pong\n"
    except OSError:
        return False


@pytest.fixture
def netns():
    """A namespace holding 10.213.N.2 with a listener, the host's end holding 10.213.N.1 with another."""
    tag = secrets.token_hex(3)
    name, host_if, ns_if = f"zr-egress-{tag}", f"zreg{tag}h", f"zreg{tag}n"
    net = f"10.213.{secrets.randbelow(200) + 20}"
    port = free_port(low=23000)
    procs: list[subprocess.Popen] = []
    try:
        _ip("netns", "add", name)
        _ip("link", "add", host_if, "type", "veth", "peer", "name", ns_if)
        _ip("link", "set", ns_if, "netns", name)
        _ip("addr", "add", f"{net}.1/24", "dev", host_if)
        _ip("link", "set", host_if, "up")
        for args in (
            ("addr", "add", f"{net}.2/24", "dev", ns_if),
            ("link", "set", ns_if, "up"),
            ("route", "add", "default", "via", f"{net}.1"),
        ):
            _ip("netns", "exec", name, "ip", *args)
        procs.append(
            subprocess.Popen(
                ["ip", "netns", "exec", name, sys.executable, "-c", SERVE, f"{net}.2", str(port)]
            )
        )
        procs.append(
            subprocess.Popen([sys.executable, "-c", SERVE, f"{net}.1", str(port)])
        )  # on the host: one of its own addresses
        deadline = time.monotonic() + 10
        while not (_answers(f"{net}.2", port) and _answers(f"{net}.1", port)):
            assert time.monotonic() < deadline, "the test's listeners did not come up"
            time.sleep(0.1)
        yield types.SimpleNamespace(remote=f"{net}.2", host=f"{net}.1", port=port)
    finally:
        for proc in procs:
            proc.kill()
            proc.wait(5)
        subprocess.run(["ip", "link", "del", host_if], capture_output=True)  # takes its peer along
        subprocess.run(["ip", "netns", "del", name], capture_output=True)


def _job_output(zunray, command: str) -> str:
    job = zunray.wait(zunray.submit(command=["sh", "-c", command], network="project")["id"])
    assert job["status"] == "Succeeded", job
    return zunray.http.get(f"/v1/jobs/{job['id']}/logs").text


def _outside_project(zunray, command: str) -> bytes:
    """The same probe from Docker's default bridge, which has no fence: proves the listeners are reachable at all."""
    control = zunray.docker.containers.create(
        "busybox:latest", ["sh", "-c", command], network="bridge"
    )
    try:
        control.start()
        control.wait(timeout=60)
        return control.logs()
    finally:
        control.remove(force=True)


def _iptables(*args: str) -> str:
    return subprocess.run(
        ["iptables", "-w", "10", *args], capture_output=True, text=True, check=True
    ).stdout


@pytest.mark.docker
@pytest.mark.ray
def test_a_project_container_reaches_neither_an_internal_address_nor_the_host(zunray, netns):
    remote = PROBE.format(addr=netns.remote, port=netns.port)
    host = PROBE.format(addr=netns.host, port=netns.port)
    # controls: the host reaches both listeners, and so does a container outside any project network
    assert _answers(netns.remote, netns.port) and _answers(netns.host, netns.port)
    assert _outside_project(zunray, f"{remote}; {host}").count(b"pong") == 2
    started = time.monotonic()
    out = _job_output(zunray, f"{remote}; {host}")
    assert "pong" not in out and out.count("blocked") == 2, out
    assert time.monotonic() - started < 30


@pytest.mark.docker
@pytest.mark.ray
def test_a_project_container_still_reaches_the_other_containers_of_its_project(zunray):
    server = zunray.submit(
        command=["sh", "-c", "hostname -i; nc -l -p 8080 -e echo same-project"], network="project"
    )
    deadline = time.monotonic() + 60
    while not (addr := zunray.http.get(f"/v1/jobs/{server['id']}/logs").text.strip()):
        assert time.monotonic() < deadline, zunray.http.get(f"/v1/jobs/{server['id']}").json()
        time.sleep(0.2)
    out = _job_output(
        zunray, f"for i in 1 2 3 4 5; do nc -w 3 {addr} 8080 </dev/null && break; sleep 0.5; done"
    )
    assert "same-project" in out
    assert zunray.wait(server["id"])["status"] == "Succeeded"


@pytest.mark.docker
@pytest.mark.ray
def test_link_local_and_the_host_are_dropped_for_forwarded_traffic_too(zunray):
    _job_output(zunray, "true")  # the project's network exists and is fenced
    [net] = zunray.docker.api.networks(names=[f"{zunray.settings.instance}-default"])
    bridge = net["Options"][BRIDGE_OPTION]
    chain = chain_name(zunray.settings.instance, bridge)
    rules = _iptables("-S", chain)
    assert f"-A {chain} -d {LINK_LOCAL} -j DROP" in rules
    assert f"-A {chain} -m addrtype --dst-type LOCAL -j DROP" in rules
    assert f"-A {chain} -d 10.0.0.0/8 -j DROP" in rules
    assert f"-A DOCKER-USER -i {bridge} -j {chain}" in _iptables("-S", "DOCKER-USER")
    assert f"-A INPUT -i {bridge} -j DROP" in _iptables("-S", "INPUT")


@pytest.mark.docker
def test_rules_follow_their_network_and_are_restored_after_a_restart():
    instance = f"egress{uuid.uuid4().hex[:8]}"
    runtime = DockerRuntime(
        url=Settings.model_fields["docker_url"].default, instance=instance, node="egress-test"
    )
    firewall = Firewall(instance, blocked=("10.0.0.0/8",))
    networks = ProjectNetworks(runtime, firewall, hosts=lambda: ["198.51.100.7", "127.0.0.2"])
    stale = "zr" + secrets.token_hex(6)
    try:
        networks.ensure("p1")
        [(_, bridge)] = [
            (n["Id"], n["Options"][BRIDGE_OPTION])
            for n in runtime._api.networks(names=[f"{instance}-p1"])
        ]  # noqa: SLF001
        chain = chain_name(instance, bridge)
        assert "-d 198.51.100.7/32 -j DROP" in _iptables(
            "-S", chain
        ) and "127.0.0.2" not in _iptables("-S", chain)
        networks.ensure("p1")  # idempotent: one jump, one INPUT rule
        assert (
            _iptables("-S", "DOCKER-USER").count(f"-j {chain}") == 1
            and _iptables("-S", "INPUT").count(f"-i {bridge} ") == 1
        )
        firewall.unfence(bridge)  # as after a reboot
        firewall.fence(stale)  # a network removed while no node actor ran
        networks.recheck()
        assert f"-A {chain} -d {LINK_LOCAL} -j DROP" in _iptables("-S", chain)
        assert f"-i {bridge} -j {chain}" in _iptables("-S", "DOCKER-USER")
        assert chain_name(instance, stale) not in _iptables("-S") and stale not in _iptables(
            "-S", "INPUT"
        )
        assert remove_project_networks(runtime) == 1
        listing = _iptables("-S")
        assert chain not in listing and bridge not in listing
    finally:
        remove_project_networks(runtime)
        firewall.unfence(stale)


# -- no Docker, no Ray ------------------------------------------------------------


def test_the_chain_lets_the_project_and_dns_through_and_drops_link_local_hosts_and_blocked_ranges():
    rules = chain_rules(
        "ZR-x-1",
        "zr1",
        blocked=("10.0.0.0/8", LINK_LOCAL),
        hosts=("192.0.2.9",),
        resolvers=("10.1.1.1",),
    )
    assert rules == [
        "-A ZR-x-1 -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN",
        "-A ZR-x-1 -o zr1 -j RETURN",
        "-A ZR-x-1 -m addrtype --dst-type LOCAL -j DROP",
        "-A ZR-x-1 -d 192.0.2.9/32 -j DROP",
        f"-A ZR-x-1 -d {LINK_LOCAL} -j DROP",  # before the DNS exemption: never reachable
        "-A ZR-x-1 -d 10.1.1.1/32 -p udp --dport 53 -j RETURN",
        "-A ZR-x-1 -d 10.1.1.1/32 -p tcp --dport 53 -j RETURN",
        "-A ZR-x-1 -d 10.0.0.0/8 -j DROP",
    ]
    assert len(chain_name("x" * 200, "zr" + "a" * 12)) <= 28  # iptables' limit


def test_resolvers_are_the_hosts_ipv4_nameservers(tmp_path):
    conf = tmp_path / "resolv.conf"
    conf.write_text(
        "# x\nnameserver 10.255.255.53\nnameserver 127.0.0.53\nnameserver ::1\nsearch example\n"
    )
    assert host_resolvers(conf) == ["10.255.255.53"]
    assert host_resolvers(tmp_path / "missing") == []


def test_blocked_egress_cidrs_are_ipv4_networks(tmp_path):
    assert "169.254.0.0/16" in Settings(data_dir=tmp_path).blocked_egress_cidrs
    for bad in (["10.0.0.1/8"], ["fe80::/10"], ["nope"]):
        with pytest.raises(ValueError, match="blocked_egress_cidrs"):
            Settings(data_dir=tmp_path, blocked_egress_cidrs=bad)


def test_a_nova_engine_without_tls_is_refused_unless_the_operator_says_so(tmp_path, caplog):
    nova = dict(
        data_dir=tmp_path, nova_url="http://127.0.0.1:1/v2.1", nova_image="i", nova_flavor="f"
    )
    with pytest.raises(ValueError, match="nova_insecure_engines"):
        Settings(**nova)
    for name in ("ca.pem", "cert.pem", "key.pem"):
        (tmp_path / name).write_text("x")
    Settings(**nova, nova_engine_cert_path=tmp_path)  # TLS: fine
    insecure = Settings(**nova, nova_insecure_engines=True)
    with caplog.at_level(logging.WARNING, logger="actors.node_nova"):
        assert (
            nova_pool(insecure, "n1", types.SimpleNamespace(instance="t", log_max_bytes=1))
            is not None
        )
    assert "plain TCP" in caplog.text
