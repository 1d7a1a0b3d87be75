"""An HTTP-level stand-in for the Glance v2 image API (Glance cannot run here).

It serves what openstacksdk's image proxy uses: version discovery, image
show, list by name, and ``/file`` downloads with Glance's checksum fields,
over real HTTP on 127.0.0.1. Test-only: never shipped as a driver.
"""

from __future__ import annotations

import hashlib
import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


class GlanceStandIn:
    def __init__(self, port: int) -> None:
        self.port = port
        self.images: dict[str, dict] = {}
        self.data: dict[str, bytes] = {}
        self.downloads = 0
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def add_image(self, name: str, data: bytes, *, container_format: str = "docker") -> str:
        image_id = str(uuid.uuid4())
        self.images[image_id] = {
            "id": image_id,
            "name": name,
            "status": "active",
            "container_format": container_format,
            "disk_format": "raw",
            "size": len(data),
            "checksum": hashlib.md5(data).hexdigest(),  # noqa: S324 - Glance's own field
            "os_hash_algo": "sha512",
            "os_hash_value": hashlib.sha512(data).hexdigest(),
            "visibility": "public",
            "protected": False,
            "min_disk": 0,
            "min_ram": 0,
            "tags": [],
            "created_at": "2026-11-26T00:00:00Z",
            "updated_at": "2026-11-26T00:00:00Z",
            "self": f"/v2/images/{image_id}",
            "file": f"/v2/images/{image_id}/file",
            "schema": "/v2/schemas/image",
        }
        self.data[image_id] = data
        return image_id

    def start(self) -> GlanceStandIn:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self):  # noqa: ANN202
        glance = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # noqa: ANN002
                pass

            def _json(self, status: int, body: dict) -> None:
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def do_GET(self) -> None:  # noqa: N802
                url = urlparse(self.path)
                parts = [p for p in url.path.split("/") if p]
                if parts in ([], ["v2"]):
                    version = {
                        "id": "v2.16",
                        "status": "CURRENT",
                        "links": [{"rel": "self", "href": f"{glance.url}/v2/"}],
                    }
                    return self._json(300 if not parts else 200, {"versions": [version]})
                if parts == ["v2", "images"]:
                    names = parse_qs(url.query).get("name")
                    found = [i for i in glance.images.values() if not names or i["name"] in names]
                    return self._json(
                        200, {"images": found, "schema": "/v2/schemas/images", "first": url.path}
                    )
                if len(parts) == 3 and parts[:2] == ["v2", "images"]:
                    image = glance.images.get(parts[2])
                    return (
                        self._json(200, image)
                        if image
                        else self._json(
                            404,
                            {"message": "Not Found", "code": "404 Not Found", "title": "Not Found"},
                        )
                    )
                if len(parts) == 4 and parts[:2] == ["v2", "images"] and parts[3] == "file":
                    data = glance.data.get(parts[2])
                    if data is None:
                        return self._json(404, {"message": "Not Found"})
                    glance.downloads += 1
                    self.send_response(200)
                    self.send_header("Content-Type", "application/octet-stream")
                    self.send_header("Content-Length", str(len(data)))
                    self.send_header("Content-MD5", glance.images[parts[2]]["checksum"])
                    self.end_headers()
                    self.wfile.write(data)
                    return None
                return self._json(404, {"message": "Not Found"})

        return Handler
