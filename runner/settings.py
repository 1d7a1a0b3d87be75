"""One typed settings object, built once at start-up and passed down.

Values come from the environment (``ZUNRAY_*``), e.g. ``ZUNRAY_DATA_DIR``,
``ZUNRAY_GATEWAY_PORT``, ``ZUNRAY_STORE_URL``. Nothing deep in the code reads the
environment itself: processes that Zunray spawns receive the settings through
``Settings.to_env()``.
"""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ZUNRAY_", extra="ignore")

    # where the store, logs and pid files live
    data_dir: Path = Field(default_factory=lambda: Path.home() / ".zunray")
    # several Zunray instances may share one Docker engine; labels carry this name
    instance: str = "zunray"

    store_url: str | None = None  # default: sqlite:///<data_dir>/zunray.db

    gateway_host: str = "127.0.0.1"
    gateway_port: int = 9517
    # the gateway the `zunray` command talks to (ZUNRAY_URL); default: the catalog's with Keystone, else gateway_url
    url: str | None = None
    # noauth trusts every caller that reaches the port: the gateway refuses a non-loopback gateway_host
    # in noauth unless this is true (and then skips its Host header check for a wildcard bind)
    allow_noauth_remote: bool = False
    # noauth: one machine, everyone is admin of the project in X-Project-Id (or "default").
    # keystone: X-Auth-Token is validated against keystone_url with the service user below.
    auth_mode: Literal["noauth", "keystone"] = "noauth"
    keystone_url: str | None = None  # e.g. http://127.0.0.1:5000/v3
    keystone_service_user: str = "zunray"
    keystone_service_password: str | None = None
    keystone_service_project: str = "service"
    keystone_domain: str = "default"
    token_cache_s: float = (
        60.0  # a revoked token keeps working at most this long (never past its expiry)
    )
    token_cache_size: int = 10_000
    policy_file: Path | None = (
        None  # JSON {rule: "admin" | "any" | "role:<name>"} overriding policies/access.py
    )
    # the Keystone project (name or id) whose admin role is the cloud admin; the admin role elsewhere is a member's
    admin_project: str = "admin"
    # the dashboard's password login: a client address with this many failures within the window gets 429
    login_failures_max: int = Field(5, ge=1)
    login_failure_window_s: float = Field(60.0, gt=0)
    login_clients_max: int = Field(
        10_000, ge=1
    )  # client addresses remembered (oldest forgotten first)

    # Ray: `zunray up` starts a head on this address unless ray_address is set
    ray_address: str | None = None  # join an existing cluster (host:port)
    ray_node_ip: str = "127.0.0.2"  # 127.0.0.1 is rewritten by Ray; see RECIPES
    ray_port: int = 26379  # must stay outside Ray's worker port range 10002-19999
    ray_object_store_mb: int = 128
    ray_namespace: str = "zunray"
    # token: every Ray connection must carry the token in ray_auth_token_path (`zunray up`
    # writes one when missing; copy it to the other nodes). disabled: anyone who reaches
    # the Ray ports runs code.
    ray_auth_mode: Literal["token", "disabled"] = "token"
    ray_auth_token_path: Path | None = None  # default: <data_dir>/ray_auth_token

    docker_url: str = "unix:///var/run/docker.sock"
    # Zun containers and capsules join their project's own network (fenced off from the host);
    # off: they get no network at all. Jobs choose per job ("network": "project").
    project_networks: bool = False
    # what containers on project networks may not reach through the host (besides link-local and the hosts'
    # own addresses, always blocked); their own network is exempt. IPv4 CIDRs; [] blocks only those two.
    blocked_egress_cidrs: tuple[str, ...] = (
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "100.64.0.0/10",
        "169.254.0.0/16",
    )
    glance_url: str | None = (
        None  # Glance image API endpoint for image_driver "glance" (e.g. http://host:9292)
    )
    # registry hosts an image reference may name ("host:port", or "host" for any of its ports); a reference naming
    # another host is refused before any pull, so dockerd never connects where the operator did not say.
    # Empty: only names without a host (local images, Docker Hub-style names).
    allowed_registries: tuple[str, ...] = ()
    # images the platform itself runs (capsule infra, function runtimes): no tenant commit may replace them
    platform_images: tuple[str, ...] = ("busybox:latest", "zunray/python:3.11")
    docker_timeout_s: float = 60.0

    # placement
    node_labels: dict[str, str] = {}
    reserved_shared_cpus: int = 1  # cpus of each host that dedicated (pinned) capsules never take
    placement_filters: tuple[str, ...] = (
        "fit",
        "host",
        "labels",
        "zone",
        "hugepages",
        "affinity",
    )
    placement_scores: dict[str, float] = {"binpack": 1.0}
    placement_score_params: dict[
        str, dict
    ] = {}  # a score's own settings, e.g. {"ratio": {"shape": [[0, 0], [100, 100]]}}
    cpu_allocation_ratio: float = 4.0  # cpus a host may promise per physical core
    memory_allocation_ratio: float = 1.0
    host_heartbeat_s: float = 2.0
    host_down_after_s: float = 10.0
    retry_base_s: float = 1.0  # first retry delay; doubles per attempt, with jitter
    retry_max_s: float = 60.0

    # limits
    max_request_bytes: int = 16 << 20  # request bodies (archives travel base64-encoded)
    log_max_bytes: int = 1 << 20  # per job, kept after the container is gone
    max_timeout_s: float = 7 * 24 * 3600.0
    # bounded waits and sizes of operations on a host (a stuck container never holds up other tenants)
    node_call_timeout_s: float = Field(
        60.0, gt=0
    )  # the gateway's deadline for a call into a node actor (+ a stop/reboot's own timeout)
    node_busy_wait_s: float = Field(
        5.0, ge=0
    )  # an operation on a container busy with another one waits this long, then 409
    node_project_ops_max: int = Field(
        8, ge=1, le=32
    )  # one project's operations running at once on a node (as many more may wait)
    exec_output_max_bytes: int = Field(
        1 << 20, ge=1024
    )  # an exec's output kept; the rest is drained and dropped (marked truncated)
    exec_timeout_s: float = Field(
        30.0, gt=0
    )  # an exec still running after this answers with what it printed so far
    # interactive shells (Zun's exec --interactive and attach): each open session holds one of its node
    # actor's 64 threads in a read, so the host-wide bound stays well below that
    shell_sessions_per_project: int = Field(
        4, ge=1
    )  # one project's sessions on one host, opened or waiting for their websocket; past it 429
    shell_sessions_per_host: int = Field(16, ge=1, le=48)  # every project's, on one host
    shell_token_ttl_s: float = Field(
        60.0, gt=0
    )  # the websocket URL of an exec or attach answer works once, within this time
    shell_idle_timeout_s: float = Field(
        600.0, gt=0
    )  # a session with no input and no output for this long is closed
    shell_max_session_s: float = Field(
        3600.0, gt=0
    )  # a session is closed this long after it opened
    shell_frame_max_bytes: int = Field(
        65536, ge=1024, le=1 << 20
    )  # the largest websocket message a client may send (and the largest piece of output relayed at once)
    archive_max_bytes: int = Field(
        8 << 20, ge=1024
    )  # get_archive/put_archive tar size (bodies carry it base64-encoded)
    default_timeout_s: float | None = None
    max_retries_limit: int = 20
    max_stop_timeout_s: int = (
        300  # the longest grace period a Zun stop/reboot may ask for (400 above)
    )
    # namespaced sysctls a job may set (NFV); others are refused with 400
    allowed_sysctls: tuple[str, ...] = (
        "net.ipv4.ip_forward",
        "net.ipv4.conf.all.forwarding",
        "net.ipv6.conf.all.forwarding",
        "net.core.somaxconn",
        "net.ipv4.ip_local_port_range",
        "net.ipv4.tcp_syncookies",
        "net.ipv4.ping_group_range",
        "net.ipv4.conf.all.rp_filter",
        "net.ipv4.conf.default.rp_filter",
        "kernel.shm_rmid_forced",
    )

    # the VM runtime (runtime "vm"): QEMU with Debian's cloud kernel (scripts/fetch_vm_kernel.sh)
    vm_kernel: Path = Field(
        default_factory=lambda: Path.home() / ".cache" / "zunray" / "vm-kernel" / "vmlinuz"
    )
    vm_accel: Literal["auto", "kvm", "tcg"] = (
        "tcg"  # auto: KVM where /dev/kvm opens (nested KVM can stall at boot)
    )
    vm_boot_timeout_s: float = (
        60.0  # a guest whose init has not run by then fails with its console lines
    )
    vm_image_cache_mb: int = Field(
        4096, ge=0
    )  # images turned into guest root filesystems, kept per node (least recently used dropped)

    # containers on Nova servers (runtime "nova"): servers from this image and flavor, whose
    # Docker engine listens on nova_engine_port of their first IPv4 address
    nova_url: str | None = None  # compute endpoint, e.g. http://nova:8774/v2.1
    nova_image: str = ""
    nova_flavor: str = ""
    nova_engine_port: int = 2375  # 2376 is Docker's TLS port
    # a directory with ca.pem, cert.pem, key.pem (Docker's DOCKER_CERT_PATH layout): the servers' engines are
    # reached over TLS, their certificates checked against ca.pem (naming their IP), this node showing cert.pem
    nova_engine_cert_path: Path | None = None
    # without cert path, engines are plain TCP: anyone on the servers' network runs containers as root there.
    # Refused unless this is set (logged at the node's start).
    nova_insecure_engines: bool = False
    nova_active_timeout_s: float = 300.0
    nova_server_scope: Literal["capsule", "project"] = (
        "capsule"  # a server per capsule, or shared by a project's capsules on a node
    )
    nova_idle_s: float = Field(
        300.0, ge=0
    )  # scope project: a server nobody uses is deleted after this long
    nova_capsules_per_server: int = Field(
        8, ge=1, le=1000
    )  # scope project: capsules on one server, at most

    # metering: running capsules get a usage record every interval, and one when they end
    usage_metering: bool = True  # off: no usage records at all (to measure its cost)
    usage_interval_s: float = 60.0
    usage_max_range_s: float = 92 * 24 * 3600.0  # the longest range one usage query may ask for

    # the dashboard's charts: the gateway samples queues, placed capsules and function counters this often and keeps
    # this many samples in memory (default: one hour); job outcomes and usage per minute come from the store
    dashboard_sample_s: float = Field(5.0, gt=0)
    dashboard_samples: int = Field(720, ge=2, le=100_000)

    # fair share: per-project caps (-1: none); a project's own quota rows override them (PUT /v1/quotas/{project})
    max_queued_jobs_per_project: int = Field(
        1000, ge=-1
    )  # jobs waiting for a host (array tasks count one by one); past it 429
    max_completions_per_job: int = Field(1000, ge=-1)  # the tasks of one job array; past it 403
    max_schedules_per_project: int = Field(100, ge=-1)  # past it 403
    min_schedule_interval_s: int = Field(
        60, ge=-1
    )  # the shortest gap between two fire times of a schedule; shorter is 403
    max_log_followers_per_project: int = Field(
        20, ge=-1
    )  # open `logs?follow=true` streams, per gateway; past it 429
    max_async_invocations_per_project: int = Field(
        1000, ge=-1
    )  # asynchronous invocations not yet ended; past it 429
    placement_per_project_per_round: int = Field(
        128, ge=1
    )  # waiting requests of one project a placement round considers

    # functions
    function_payload_max_bytes: int = 6 << 20  # invocation request and result bodies
    function_code_max_bytes: int = 256 << 10  # inline handler source
    function_concurrency_per_project: int = (
        100  # running invocations of one project, over all its functions
    )
    function_queue_max: int = 1000  # invocations waiting for an instance, per function
    function_max_instances_limit: int = 100  # the most a function may ask for
    function_start_timeout_s: float = 60.0  # an instance that is not serving by then is replaced

    # Fernet keys sealing stored values (secrets, registry passwords), comma-separated, the first
    # seals (``zunray secrets rotate-key``); default: <data_dir>/secret.key, one key a line
    secret_key: str | None = None
    secret_value_max_bytes: int = Field(64 << 10, ge=1, le=1 << 20)  # one secret's value, UTF-8
    secrets_per_project: int = Field(100, ge=0)  # secrets a project may hold
    # host directory (a tmpfs) holding secret files while their containers exist
    secret_files_dir: Path = Path("/dev/shm/zunray-secrets")

    # telemetry: none | console | file:<path> | otlp:<endpoint>
    trace_exporter: str = "none"
    trace_sample_ratio: float = 1.0

    @model_validator(mode="after")
    def _known_policies(self) -> Settings:
        """Refuse to start with a placement filter or score that does not exist (naming it)."""
        from policies import make_filters, make_scores  # pure; imported late to keep settings light

        make_filters(self.placement_filters)
        make_scores(self.placement_scores, self.placement_score_params)
        return self

    @model_validator(mode="after")
    def _nova_tls_files(self) -> Settings:
        """Refuse a certificate directory that lacks one of its three files (naming it)."""
        if self.nova_engine_cert_path is not None:
            missing = [
                n
                for n in ("ca.pem", "cert.pem", "key.pem")
                if not (self.nova_engine_cert_path / n).is_file()
            ]
            if missing:
                raise ValueError(
                    f"nova_engine_cert_path {self.nova_engine_cert_path} has no {', '.join(missing)}"
                )
        elif self.nova_url and not self.nova_insecure_engines:
            raise ValueError(
                "Nova servers' engines would be plain TCP: set nova_engine_cert_path (TLS) or nova_insecure_engines=true"
            )
        return self

    @model_validator(mode="after")
    def _egress_cidrs(self) -> Settings:
        """Blocked ranges are IPv4 networks (project networks are IPv4 only), written as iptables reads them."""
        for cidr in self.blocked_egress_cidrs:
            try:
                net = ipaddress.ip_network(cidr)
            except ValueError as exc:
                raise ValueError(
                    f"blocked_egress_cidrs: {cidr!r} is not a network ({exc})"
                ) from exc
            if net.version != 4:
                raise ValueError(f"blocked_egress_cidrs: {cidr!r} is not IPv4")
        return self

    @property
    def store_url_resolved(self) -> str:
        return self.store_url or f"sqlite:///{self.data_dir / 'zunray.db'}"

    @property
    def gateway_url(self) -> str:
        return f"http://{self.gateway_host}:{self.gateway_port}"

    @property
    def run_dir(self) -> Path:
        return self.data_dir / "run"

    @property
    def ray_address_resolved(self) -> str:
        return self.ray_address or f"{self.ray_node_ip}:{self.ray_port}"

    def ray_env(self) -> dict[str, str]:
        """What Ray itself reads from the environment, for every process that talks to Ray."""
        env = {"RAY_AUTH_MODE": self.ray_auth_mode, "RAY_USAGE_STATS_ENABLED": "0"}
        if self.ray_auth_mode == "token":
            env["RAY_AUTH_TOKEN_PATH"] = str(self.ray_token_file)
        return env

    @property
    def ray_token_file(self) -> Path:
        return self.ray_auth_token_path or self.data_dir / "ray_auth_token"

    def to_env(self) -> dict[str, str]:
        """The environment that reproduces these settings in a child process."""
        env: dict[str, str] = {}
        for name, value in self.model_dump(mode="json").items():
            if value is None:
                continue
            if isinstance(value, (dict, list)):
                env[f"ZUNRAY_{name.upper()}"] = json.dumps(value)
            else:
                env[f"ZUNRAY_{name.upper()}"] = str(value)
        return env
