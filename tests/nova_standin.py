"""An HTTP-level stand-in for Nova's servers API (Nova cannot run here).

It serves what openstacksdk's compute proxy uses to create, show, list and
delete servers, over real HTTP on 127.0.0.1. Its "servers" are real container
engines: each one is a ``dockerd`` the stand-in starts with its own data
root, listening on tcp://<its address>:2375, where the address is a loopback
address of its own (127.0.1.N) reported in ``addresses``. Given a test CA, the
engines listen on 2376 with TLS instead and want a client certificate from it
(``--tlsverify``), as a server image set up for Zunray would. A server is BUILD
until its engine answers, then ACTIVE; deleting it stops the engine and
removes its files. Test-only: never shipped as a driver.

The tests use it in process. The benchmarks start it as a program of its own,
``python -m tests.nova_standin PORT ROOT`` (it prints its URL once it serves and
deletes its servers on SIGTERM), so that no shipped or benchmark code imports
``tests``; ``GET /_standin`` (not Nova's API) says how many servers it made.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from tests.certs import TestCA

ENGINE_PORT, TLS_ENGINE_PORT = 2375, 2376


class NovaStandIn:
    def __init__(self, port: int, root: Path, *, tls_ca: TestCA | None = None) -> None:
        self.port = port
        self.root = root
        self.tls_ca = tls_ca
        self.engine_port = TLS_ENGINE_PORT if tls_ca else ENGINE_PORT
        self._client_tls = (
            tls_ca.write_client(root / "standin-client") if tls_ca else None
        )  # the "hypervisor" pings its engines too
        self.servers: dict[str, dict] = {}
        self.engines: dict[str, subprocess.Popen] = {}
        self.created = 0
        self.fail_next = False  # the next server goes to ERROR (a broken image or a full cloud)
        self.rogue_next = False  # TLS: the next server's engine shows a certificate from another CA (a man in the middle)
        self._next_addr = 10
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v2.1"

    def start(self) -> NovaStandIn:
        self._thread.start()
        return self

    def stop(self) -> None:
        for server_id in list(self.servers):
            self.delete(server_id)
        self._server.shutdown()

    # -- the "hypervisor" ---------------------------------------------------
    def create(self, body: dict) -> dict:
        with self._lock:
            server_id = str(uuid.uuid4())
            addr = f"127.0.1.{self._next_addr}"
            self._next_addr += 1
            self.created += 1
        d = self.root / server_id[:8]
        d.mkdir(parents=True)
        # a bridge of its own: a second dockerd with --bridge=none deletes the host engine's docker0
        bridge = self._bridge(server_id)
        subprocess.run(["ip", "link", "add", bridge, "type", "bridge"], check=True)
        tls = []
        if self.tls_ca is not None:
            issuer, self.rogue_next = (
                (TestCA("rogue CA") if self.rogue_next else self.tls_ca),
                False,
            )
            issuer.write_server(d / "tls", addr)
            (d / "tls" / "ca.pem").write_bytes(
                self.tls_ca.ca_pem()
            )  # the clients it accepts: the cloud's
            tls = [
                "--tlsverify",
                f"--tlscacert={d}/tls/ca.pem",
                f"--tlscert={d}/tls/server-cert.pem",
                f"--tlskey={d}/tls/server-key.pem",
            ]
        engine = subprocess.Popen(
            [
                "dockerd",
                f"--host=tcp://{addr}:{self.engine_port}",
                f"--data-root={d}/data",
                f"--exec-root={d}/exec",
                f"--pidfile={d}/docker.pid",
                f"--bridge={bridge}",
                "--iptables=false",
                "--ip-masq=false",
                *tls,
            ],
            stdout=open(d / "dockerd.log", "wb"),
            stderr=subprocess.STDOUT,  # noqa: SIM115
        )
        self.engines[server_id] = engine
        server = {
            "id": server_id,
            "name": body.get("name", ""),
            "status": "BUILD",
            "metadata": body.get("metadata") or {},
            "image": {"id": body.get("imageRef")},
            "flavor": {"id": body.get("flavorRef")},
            "tenant_id": "standin",
            "addresses": {"private": [{"addr": addr, "version": 4, "OS-EXT-IPS:type": "fixed"}]},
            "created": datetime.now(timezone.utc).isoformat(),
            "links": [{"rel": "self", "href": f"{self.url}/servers/{server_id}"}],
        }
        self.servers[server_id] = server
        if self.fail_next:
            self.fail_next = False
            server["status"] = "ERROR"
            return server
        threading.Thread(target=self._boot, args=(server_id, addr), daemon=True).start()
        return server

    def _boot(self, server_id: str, addr: str) -> None:
        import http.client
        import ssl

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and server_id in self.servers:
            try:
                if self.tls_ca is None:
                    conn = http.client.HTTPConnection(addr, self.engine_port, timeout=1)
                else:
                    ctx = ssl.create_default_context()
                    ctx.check_hostname, ctx.verify_mode = (
                        False,
                        ssl.CERT_NONE,
                    )  # is it up? (the node actor checks who it is)
                    ctx.load_cert_chain(self._client_tls / "cert.pem", self._client_tls / "key.pem")
                    conn = http.client.HTTPSConnection(
                        addr, self.engine_port, timeout=1, context=ctx
                    )
                conn.request("GET", "/_ping")
                if conn.getresponse().status == 200:
                    self.servers[server_id]["status"] = "ACTIVE"
                    return
            except OSError:
                time.sleep(0.1)
        if server_id in self.servers:
            self.servers[server_id]["status"] = "ERROR"

    def delete(self, server_id: str, *, wait: bool = True) -> bool:
        """Gone from the API at once; its engine stops (in the background unless ``wait``)."""
        server = self.servers.pop(server_id, None)
        engine = self.engines.pop(server_id, None)
        if not wait:
            threading.Thread(
                target=self._stop_engine, args=(server_id, engine), daemon=True
            ).start()
            return server is not None
        self._stop_engine(server_id, engine)
        return server is not None

    def _stop_engine(self, server_id: str, engine: subprocess.Popen | None) -> None:
        if engine is not None:
            engine.send_signal(signal.SIGTERM)
            try:
                engine.wait(timeout=20)
            except subprocess.TimeoutExpired:
                engine.kill()
        subprocess.run(
            ["ip", "link", "del", self._bridge(server_id)], check=False, capture_output=True
        )
        shutil.rmtree(self.root / server_id[:8], ignore_errors=True)

    @staticmethod
    def _bridge(server_id: str) -> str:
        return f"zrnova{server_id[:8]}"  # at most 15 characters

    # -- HTTP -----------------------------------------------------------------
    def _handler(self):  # noqa: ANN202
        nova = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # noqa: ANN002
                pass

            def _json(self, status: int, body: dict | None) -> None:
                raw = b"" if body is None else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.send_header("OpenStack-API-Version", "compute 2.1")
                self.end_headers()
                self.wfile.write(raw)

            def _not_found(self) -> None:
                self._json(
                    404, {"itemNotFound": {"code": 404, "message": "Instance could not be found."}}
                )

            def do_GET(self) -> None:  # noqa: N802
                url = urlparse(self.path)
                parts = [p for p in url.path.split("/") if p]
                version = {
                    "id": "v2.1",
                    "status": "CURRENT",
                    "version": "2.1",
                    "min_version": "2.1",
                    "links": [{"rel": "self", "href": f"{nova.url}/"}],
                }
                if parts == []:
                    return self._json(300, {"versions": [version]})
                if parts == ["v2.1"]:
                    return self._json(200, {"version": version})
                if parts == ["_standin"]:
                    return self._json(200, {"created": nova.created})
                if parts[:2] == ["v2.1", "servers"] and len(parts) == 3 and parts[2] in ("detail",):
                    names = parse_qs(url.query).get("name")
                    found = [s for s in nova.servers.values() if not names or names[0] in s["name"]]
                    return self._json(200, {"servers": found})
                if parts[:2] == ["v2.1", "servers"] and len(parts) == 2:
                    return self._json(
                        200,
                        {
                            "servers": [
                                {"id": s["id"], "name": s["name"], "links": s["links"]}
                                for s in nova.servers.values()
                            ]
                        },
                    )
                if parts[:2] == ["v2.1", "servers"] and len(parts) == 3:
                    server = nova.servers.get(parts[2])
                    return self._json(200, {"server": server}) if server else self._not_found()
                self._not_found()

            def do_POST(self) -> None:  # noqa: N802
                parts = [p for p in urlparse(self.path).path.split("/") if p]
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                if parts == ["v2.1", "servers"]:
                    server = nova.create(body.get("server") or {})
                    return self._json(
                        202,
                        {
                            "server": {
                                "id": server["id"],
                                "links": server["links"],
                                "adminPass": "unused",
                            }
                        },
                    )
                self._not_found()

            def do_DELETE(self) -> None:  # noqa: N802
                parts = [p for p in urlparse(self.path).path.split("/") if p]
                if (
                    parts[:2] == ["v2.1", "servers"]
                    and len(parts) == 3
                    and nova.delete(parts[2], wait=False)
                ):
                    return self._json(204, None)
                self._not_found()

        return Handler


def main(argv: list[str]) -> None:
    """Serve until SIGTERM or SIGINT, then delete every server (and its engine)."""
    port, root = int(argv[0]), Path(argv[1])
    stopping = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stopping.set())
    nova = NovaStandIn(port, root).start()
    print(nova.url, flush=True)  # the caller waits for this line: it serves from here on
    stopping.wait()
    nova.stop()


if __name__ == "__main__":
    main(sys.argv[1:])
