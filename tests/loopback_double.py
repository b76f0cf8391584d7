"""What the loopback API doubles share: an HTTP server on 127.0.0.1 in a thread, and what it saw.

A double subclasses LoopbackDouble and answers each request in serve(); the base keeps the requests,
texts, violations, refused credentials and scripted failures behind one lock, starts and stops the
server (waking scripted hangs on stop), and empties everything between tests.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Generic, Self, TypeVar

Inbox = TypeVar("Inbox")
Request = TypeVar("Request")
Failure = TypeVar("Failure")


@dataclass
class Reply:
    """An HTTP answer: JSON payload (or raw bytes for non-JSON), status and content type."""

    status: int
    payload: Any = None
    raw: bytes | None = None
    content_type: str = "application/json; charset=utf-8"

    def encode(self) -> bytes:
        """The response body bytes."""
        if self.raw is not None:
            return self.raw
        return b"" if self.payload is None else json.dumps(self.payload).encode()


class LoopbackDouble(Generic[Inbox, Request, Failure]):
    """A provider's API on 127.0.0.1 for the duration of a `with` block."""

    name = "double"

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._stopping = threading.Event()  # set on stop: a scripted hang returns at once
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._inbox: list[Inbox] = []
        self._requests: list[Request] = []
        self._violations: list[str] = []
        self._auth_failures: list[str] = []
        self._failures: list[Failure] = []

    # -- what a subclass answers -------------------------------------------------------------------------

    def serve(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> Reply | None:
        """Answer one HTTP request (None: drop the connection without an answer)."""
        raise NotImplementedError

    def response_headers(self) -> dict[str, str]:
        """Headers the provider adds to every answer."""
        return {}

    def _forget(self) -> None:
        """Empty the subclass's own state too (called under the lock by reset)."""

    # -- lifecycle ---------------------------------------------------------------------------------------

    def start(self) -> Self:
        """Listen on 127.0.0.1:<free port> and serve from a daemon thread."""
        if self._server is not None:
            raise RuntimeError(f"the {self.name} is already running")
        self._stopping.clear()
        self._server = _Server(self)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=self.name, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving: wake hanging requests, join every thread, close the socket."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        self._stopping.set()
        server.shutdown()
        thread.join(timeout=10)
        server.join_handlers(timeout=10)
        server.server_close()
        self._server = self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """http://127.0.0.1:PORT (only while running)."""
        if self._server is None:
            raise RuntimeError(f"the {self.name} is not running: use it in a `with` block")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def join_handlers(self, timeout: float = 10) -> None:
        """Wait for the requests still being answered (a scripted hang), so none leaks into the next test."""
        if self._server is not None:
            self._server.join_handlers(timeout)

    # -- what it saw -------------------------------------------------------------------------------------

    @property
    def requests(self) -> list[Request]:
        """Every request so far, in arrival order."""
        with self._lock:
            return list(self._requests)

    @property
    def violations(self) -> list[str]:
        """Every request the provider would refuse as malformed (and any bug in the double's own answers)."""
        with self._lock:
            return list(self._violations)

    @property
    def auth_failures(self) -> list[str]:
        """Requests refused for wrong credentials (not violations: tests may send them on purpose)."""
        with self._lock:
            return list(self._auth_failures)

    def fail_next(self, *failures: Failure) -> None:
        """Queue scripted failures for the next requests."""
        with self._lock:
            self._failures.extend(failures)

    def reset(self) -> None:
        """Forget texts, requests, violations, refused credentials, queued failures and the subclass's state."""
        with self._lock:
            for store in (self._inbox, self._requests, self._violations, self._auth_failures, self._failures):
                store.clear()
            self._forget()


class _Server(ThreadingHTTPServer):
    """ThreadingHTTPServer (daemon threads) that still knows its handler threads, to join them on stop."""

    daemon_threads = True
    request_queue_size = 128

    def __init__(self, double: LoopbackDouble) -> None:
        self.double = double
        self._handlers: set[threading.Thread] = set()
        self._handlers_lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        thread = threading.Thread(target=self._run_handler, args=(request, client_address),
                                  name=f"{self.double.name}-request", daemon=True)
        with self._handlers_lock:
            self._handlers.add(thread)
        thread.start()

    def _run_handler(self, request: Any, client_address: Any) -> None:
        try:
            self.process_request_thread(request, client_address)
        finally:
            with self._handlers_lock:
                self._handlers.discard(threading.current_thread())

    def join_handlers(self, timeout: float) -> None:
        """Wait for the requests still being answered."""
        with self._handlers_lock:
            handlers = list(self._handlers)
        for thread in handlers:
            thread.join(timeout)

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError | TimeoutError):
            return  # the client gave up (timeout) or reset: nothing to report
        with self.double._lock:
            self.double._violations.append(f"double bug: {error.__class__.__name__}: {error}")


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.0"  # one request per connection: nothing lingers at shutdown
    server_version = "loopback-double/1"
    timeout = 10

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the double records requests instead of logging them."""

    def _serve(self) -> None:
        length = self.headers.get("Content-Length") or "0"
        body = self.rfile.read(int(length)) if length.isdigit() and int(length) > 0 else b""
        reply = self.server.double.serve(self.command, self.path, self.headers, body)
        if reply is None:
            self.close_connection = True
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return
        data = reply.encode()
        try:
            self.send_response(reply.status)
            for name, value in self.server.double.response_headers().items():
                self.send_header(name, value)
            if reply.status != 204:
                self.send_header("Content-Type", reply.content_type)
                self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD" and reply.status != 204:
                self.wfile.write(data)
        except OSError:
            self.close_connection = True  # the client is gone (it timed out): nothing to answer

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve
