"""Browser-test plumbing: the app served by uvicorn on a random loopback port in a thread,
Debian's chromium driven by Playwright (never ``playwright install``), and a network guard
that records (and aborts) every request that is not to the loopback server.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

# Import before Playwright runs: compiling a module after its greenlets have switched trips
# CPython 3.11's "AST constructor recursion depth mismatch" (seen in hypothesis's plugin,
# which imports lazily at the end of the session).
import hypothesis
import hypothesis.internal.observability  # noqa: F401
import pytest

CHROMIUM = os.environ.get("GATEHOUSE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def run_in_fresh_loop(make: Any) -> Any:
    """``asyncio.run(make())`` in a new thread: Playwright's sync API keeps an event loop
    running in the main thread for the whole session, so ``asyncio.run`` cannot run there."""
    import asyncio

    result: dict[str, Any] = {}

    def target() -> None:
        try:
            result["value"] = asyncio.run(make())
        except BaseException as error:  # re-raised in the caller's thread
            result["error"] = error

    thread = threading.Thread(target=target, name="fresh-loop")
    thread.start()
    thread.join()
    if "error" in result:
        raise result["error"]
    return result.get("value")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LiveServer:
    url: str
    server: Any
    thread: threading.Thread

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def serve_in_thread(app: Any) -> LiveServer:
    import uvicorn

    port = _free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="on",
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    return LiveServer(url=f"http://127.0.0.1:{port}", server=server, thread=thread)


@dataclass
class NetworkGuard:
    """Every URL the browser asked for that is not loopback (aborted, then asserted empty)."""

    outside: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def handle(self, route: Any) -> None:
        url = route.request.url
        self.requests.append(url)
        host = urlparse(url).hostname or ""
        if url.startswith(("data:", "blob:", "about:")) or host in LOOPBACK:
            route.continue_()
        else:
            self.outside.append(url)
            route.abort()


# Package scope, not session: Playwright's sync API leaves an event loop running on the main
# thread while it is open, which would break asyncio tests collected after this package.
@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} missing (scripts/test installs Debian's chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def network_guard() -> Iterator[NetworkGuard]:
    guard = NetworkGuard()
    yield guard
    assert guard.outside == [], f"the browser tried to leave the loopback: {guard.outside}"


def settle(page: Any) -> None:
    """Wait until htmx has finished swapping and settling (keys pressed mid-swap are lost)."""
    page.wait_for_function(
        "() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')"
    )
    page.wait_for_timeout(50)


def new_context(browser: Any, guard: NetworkGuard, **kwargs: Any) -> Any:
    context = browser.new_context(viewport={"width": 1360, "height": 860}, **kwargs)
    context.route("**/*", guard.handle)
    return context


@dataclass
class TrafficRecorder:
    """Everything a page's browser received: bodies, headers, SSE and WebSocket frames,
    downloads. Attach with :meth:`attach` before navigating."""

    bodies: list[tuple[str, str]] = field(default_factory=list)  # (url, text)
    headers: list[tuple[str, str]] = field(default_factory=list)  # (url, "k: v\n...")
    frames: list[str] = field(default_factory=list)  # SSE and WebSocket frames
    downloads: list[tuple[str, bytes]] = field(default_factory=list)
    _cdp: Any = None

    def attach(self, context: Any, page: Any) -> None:
        page.on("response", self._on_response)
        page.on("websocket", self._on_websocket)
        page.on("download", self._on_download)
        # Playwright cannot read a streaming body; the DevTools protocol reports each SSE
        # message the browser received, which is exactly what we must search.
        self._cdp = context.new_cdp_session(page)
        self._cdp.send("Network.enable")
        self._cdp.on(
            "Network.eventSourceMessageReceived",
            lambda e: self.frames.append(f"{e.get('eventName', '')}\n{e.get('data', '')}"),
        )

    def _on_response(self, response: Any) -> None:
        try:
            headers = response.all_headers()
        except Exception:  # the page navigated away before headers could be read
            headers = response.headers
        self.headers.append(
            (response.url, "\n".join(f"{k}: {v}" for k, v in sorted(headers.items())))
        )
        if "text/event-stream" in headers.get("content-type", ""):
            return
        try:
            body = response.body()
        except Exception:  # redirects and aborted requests have no body
            return
        self.bodies.append((response.url, body.decode("utf-8", "replace")))

    def record(self, url: str, headers: dict[str, str], body: bytes) -> None:
        """Add a response fetched outside page navigation (``page.request``)."""
        self.headers.append((url, "\n".join(f"{k}: {v}" for k, v in sorted(headers.items()))))
        self.bodies.append((url, body.decode("utf-8", "replace")))

    def _on_websocket(self, ws: Any) -> None:
        ws.on("framereceived", lambda payload: self.frames.append(str(payload)))

    def _on_download(self, download: Any) -> None:
        path = download.path()
        self.downloads.append((download.suggested_filename, Path(path).read_bytes()))

    def payloads(self) -> list[tuple[str, str]]:
        out = [(f"body {u}", t) for u, t in self.bodies]
        out += [(f"headers {u}", h) for u, h in self.headers]
        out += [("frame", f) for f in self.frames]
        out += [(f"download {n}", b.decode("utf-8", "replace")) for n, b in self.downloads]
        return out
