"""Drive headless Debian chromium through the DevTools protocol over a pipe (no extra package).

Why not ``--window-size`` and ``--dump-dom``: headless chromium will not make a window narrower
than 500 px, so a phone width (375 px) can only be had by device-metrics emulation, which needs
the DevTools protocol. ``--remote-debugging-pipe`` speaks it over file descriptors 3 and 4
(NUL-separated JSON), the transport Playwright uses, so no WebSocket client or driver is needed.
"""

import base64
import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest


def chromium_path() -> str:
    """Debian's chromium; skip locally when missing, fail under CI=true."""
    path = shutil.which("chromium") or (
        "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
    )
    if path is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("CI=true but chromium is missing: .ci/run must `apt-get install chromium`")
        pytest.skip("Debian's chromium is not installed (apt-get install -y chromium)")
    return path


class Browser:
    """One headless chromium with one page, driven by DevTools commands."""

    def __init__(self, profile: Path, timeout_s: float = 60.0) -> None:
        # os.pipe() descriptors are not inherited; the child dup2()s its two ends onto 3 and 4
        # (dup2 makes them inheritable) and exec closes everything else.
        to_browser_r, to_browser_w = os.pipe()
        from_browser_r, from_browser_w = os.pipe()
        command = [
            chromium_path(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--remote-debugging-pipe",
            f"--user-data-dir={profile}",
            "about:blank",
        ]

        def child_fds() -> None:  # the protocol's fixed descriptors: 3 = commands, 4 = replies
            # Copy both ends out of the way first: a pipe may itself be 3 or 4, and dup2 of a
            # descriptor onto itself would leave it non-inheritable.
            commands, replies = os.dup(to_browser_r), os.dup(from_browser_w)
            os.dup2(commands, 3)
            os.dup2(replies, 4)

        self.process = subprocess.Popen(  # noqa: S603 - fixed argument list, no shell
            command,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=child_fds,  # noqa: PLW1509 - only dup2, before exec
            close_fds=False,  # else the fds 3 and 4 made by child_fds would be closed again
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._out = os.fdopen(to_browser_w, "wb", buffering=0)
        self._in = os.fdopen(from_browser_r, "rb", buffering=0)
        self._buffer = b""
        self._next_id = 0
        self._events: list[dict[str, Any]] = []
        self.timeout_s = timeout_s
        targets = self.call("Target.getTargets")["targetInfos"]
        page = next(t for t in targets if t["type"] == "page")
        self.session = self.call("Target.attachToTarget", targetId=page["targetId"], flatten=True)[
            "sessionId"
        ]
        self.call("Page.enable", session=True)

    def _read_message(self) -> dict[str, Any]:
        deadline = time.monotonic() + self.timeout_s
        while b"\0" not in self._buffer:
            if time.monotonic() > deadline:
                raise TimeoutError("chromium did not answer")
            chunk = self._in.read(1 << 16)
            if not chunk:
                raise RuntimeError("chromium closed the DevTools pipe")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def call(self, method: str, *, session: bool = False, **params: Any) -> dict[str, Any]:
        """Send one command and return its result (events that arrive meanwhile are kept)."""
        self._next_id += 1
        request: dict[str, Any] = {"id": self._next_id, "method": method, "params": params}
        if session:
            request["sessionId"] = self.session
        self._out.write(json.dumps(request).encode() + b"\0")
        while True:
            message = self._read_message()
            if message.get("id") == self._next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self._events.append(message)

    def wait_event(self, method: str) -> dict[str, Any]:
        for index, event in enumerate(self._events):
            if event.get("method") == method:
                return self._events.pop(index)
        while True:
            message = self._read_message()
            if message.get("method") == method:
                return message
            self._events.append(message)

    def open(self, url: str, width: int, height: int) -> None:
        """Load ``url`` in a viewport of exactly ``width`` x ``height`` CSS pixels."""
        self.call(
            "Emulation.setDeviceMetricsOverride",
            session=True,
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=width < 600,
        )
        self._events.clear()
        self.call("Page.navigate", session=True, url=url)
        self.wait_event("Page.loadEventFired")

    def evaluate(self, expression: str) -> Any:
        result = self.call(
            "Runtime.evaluate",
            session=True,
            expression=expression,
            returnByValue=True,
            awaitPromise=True,
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def screenshot(self, path: Path, *, full_page: bool = False) -> None:
        params: dict[str, Any] = {"format": "png"}
        if full_page:
            params["captureBeyondViewport"] = True
        data = self.call("Page.captureScreenshot", session=True, **params)["data"]
        path.write_bytes(base64.b64decode(data))

    def print_pdf(self) -> bytes:
        data = self.call("Page.printToPDF", session=True, printBackground=True)["data"]
        return base64.b64decode(data)

    def close(self) -> None:
        try:
            self.call("Browser.close")
        except (RuntimeError, OSError, TimeoutError):
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self._out.close()
        self._in.close()
