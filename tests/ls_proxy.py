"""A forwarding proxy in front of a real Label Studio, for the faults the real server cannot be
made to produce on demand (a lost reply, a 500). Subclasses decide per request in `handle`."""

from __future__ import annotations

import http.server
import threading

import httpx

from stancekit import labelstudio


class ForwardingProxy(http.server.BaseHTTPRequestHandler):
    upstream = ""  # the real server's base URL

    def forward(self, body: bytes) -> httpx.Response:
        """Send the request on to the real server and return its reply."""
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length", "connection")}
        return httpx.request(self.command, self.upstream + self.path, headers=headers, content=body, timeout=60)

    def relay(self, reply: httpx.Response) -> None:
        self.send_response(reply.status_code)
        for k, v in reply.headers.items():
            if k.lower() not in ("content-length", "transfer-encoding", "connection", "content-encoding"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(reply.content)))
        self.end_headers()
        self.wfile.write(reply.content)

    def handle_request(self, body: bytes) -> None:
        self.relay(self.forward(body))

    def _dispatch(self):
        self.handle_request(self.rfile.read(int(self.headers.get("Content-Length") or 0)))

    do_GET = do_POST = do_PATCH = do_DELETE = _dispatch

    def log_message(self, *args):
        pass


def serve(handler: type[ForwardingProxy]) -> tuple[http.server.ThreadingHTTPServer, str]:
    """Start the proxy on a free loopback port in a thread; returns (server, its URL)."""
    proxy = http.server.ThreadingHTTPServer((labelstudio.HOST, 0), handler)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    return proxy, f"http://{labelstudio.HOST}:{proxy.server_address[1]}"
