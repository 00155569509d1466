"""The tests' tiny model exported and published as an offered model's towers are, and a local
HTTP server that serves the files (with Range requests) and misbehaves when told to."""

from __future__ import annotations

import http.server
import re
import shutil
import socket
import threading
from pathlib import Path


def publish_tiny(folder: Path, base_url: str = "http://127.0.0.1:1/x") -> tuple[str, Path]:
    """(the model's spec, the folder of its published files). The model's own folder (its torch
    weights) is removed afterwards: what follows can only use the export."""
    from helpers import make_random_model

    from core.model.publish import export_and_publish

    spec = make_random_model(folder / "tiny-clip", seed=5)
    export_and_publish(spec, folder / "published", base_url)
    shutil.rmtree(folder / "tiny-clip")
    return spec, folder / "published"


def pinned_at(spec: str, published: Path, base_url: str):
    """The entry core/model/offered.py would hold for files published at base_url."""
    import json

    from core.model.download import sha256_of
    from core.model.exported import manifest_path
    from core.model.offered import PinnedExport, PinnedFile

    manifest = manifest_path(published, spec)
    names = sorted(p.name for p in published.iterdir() if p != manifest) + [manifest.name]
    assert json.loads(manifest.read_text())["pinned"] is True
    return PinnedExport(spec, tuple(PinnedFile(n, f"{base_url}/{n}", (published / n).stat()
                                               .st_size, sha256_of(published / n))
                                    for n in names))


class Server:
    """Serves `folder` on 127.0.0.1. `cut[name] = n`: the next answer for name stops after n
    bytes (the connection dropped); `corrupt[name] = k`: the next k answers have a byte
    changed. `requests`: (name, Range header) for each request."""

    def __init__(self, folder: Path):
        self.folder, self.cut, self.corrupt, self.requests = folder, {}, {}, []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                name = self.path.rsplit("/", 1)[-1]
                server.requests.append((name, self.headers.get("Range")))
                path = server.folder / name
                if not path.is_file():
                    self.send_error(404)
                    return
                data = path.read_bytes()
                if server.corrupt.get(name):
                    server.corrupt[name] -= 1
                    data = bytes([data[0] ^ 0xFF]) + data[1:]
                start = 0
                match = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range") or "")
                if match:
                    start = int(match.group(1))
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/"
                                                      f"{len(data)}")
                else:
                    self.send_response(200)
                body = data[start:]
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                stop = server.cut.pop(name, None)
                if stop is not None:  # half the body, then the connection is gone
                    self.wfile.write(body[:stop])
                    self.wfile.flush()
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.close_connection = True
                    return
                self.wfile.write(body)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/exports"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
