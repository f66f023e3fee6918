"""A real local HTTP server in a thread that records what it receives and answers as told."""
from __future__ import annotations

import json
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver:
    def __init__(self, script: list):
        """script: one answer per request, in order (the last repeats): an HTTP status, or ("sleep", seconds)."""
        self.script = list(script)
        self.requests: list[dict] = []
        self.lock = threading.Lock()

    def next_answer(self):
        with self.lock:
            return self.script.pop(0) if len(self.script) > 1 else self.script[0]


@contextmanager
def http_receiver(*script):
    receiver = Receiver(list(script))

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            answer = receiver.next_answer()
            with receiver.lock:
                receiver.requests.append({"path": self.path, "body": json.loads(body),
                                          "content_type": self.headers.get("Content-Type")})
            if isinstance(answer, tuple):
                time.sleep(answer[1])
                answer = 200
            try:
                self.send_response(answer)
                self.end_headers()
                self.wfile.write(b'{"status": "success"}' if answer < 300 else b'{"status": "error"}')
            except (BrokenPipeError, ConnectionResetError):
                pass

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        receiver.url = f"http://127.0.0.1:{server.server_address[1]}"
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
