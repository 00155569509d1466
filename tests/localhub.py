"""A local server in the Hugging Face hub's layout (`/<org>/<repo>/resolve/<revision>/<file>`,
the commit in X-Repo-Commit, a redirect to its file storage as the hub answers), reached through
HF_ENDPOINT: it serves model folders with Range requests and misbehaves when told to."""

from __future__ import annotations

import http.server
import re
import shutil
import socket
import threading
from pathlib import Path


COMMIT = "0123456789abcdef0123456789abcdef01234567"


def hub_model(root: Path, repo: str, source: Path) -> Path:
    """A model folder's files published in the hub's layout under `root` (`<org>/<repo>/`)."""
    where = root / repo
    where.mkdir(parents=True, exist_ok=True)
    for f in source.iterdir():
        if f.is_file():
            shutil.copy2(f, where / f.name)
    return where


class Server:
    """Serves the hub layout under `folder` on 127.0.0.1. `cut[name] = n`: the next answer for
    name stops after n bytes (the connection dropped); `corrupt[name] = k`: the next k answers
    have a byte changed; `down = n`: the next n connections are refused an answer (503).
    `requests`: (name, Range header) for each request of a file's bytes."""

    def __init__(self, folder: Path):
        self.folder, self.cut, self.corrupt, self.requests = folder, {}, {}, []
        self.down = 0
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                hub = re.fullmatch(r"/([^/]+/[^/]+)/resolve/([^/]+)/(.+)", self.path)
                if hub:  # the hub answers with the commit, and sends the bytes elsewhere
                    self.send_response(302)
                    self.send_header("X-Repo-Commit", COMMIT)
                    self.send_header("Location", f"/files/{hub.group(1)}/{hub.group(3)}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if server.down:
                    server.down -= 1
                    self.send_error(503)
                    return
                rel = self.path[len("/files/"):]
                name = rel.rsplit("/", 1)[-1]
                server.requests.append((name, self.headers.get("Range")))
                path = server.folder / rel
                if not self.path.startswith("/files/") or not path.is_file():
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
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
