"""One headless chromium kept for the process, printing pages to PDF over its DevTools pipe.

Belongs here: starting chromium once with ``--remote-debugging-pipe``, the few DevTools
protocol calls that print one page (a fresh tab, load the file, ``Page.printToPDF`` with the
parameters of chromium's own ``--print-to-pdf``, close the tab), and closing chromium when the
process ends. Which pages are printed, and the one-shot fallback, are ``site.py``'s.

Why: ``chromium --headless --print-to-pdf`` starts a browser per page, ~1 s of a 2-core machine
for each period of a backfill; one browser per process prints a page in a fraction of that.
Why a pipe and not a DevTools client library: the pipe needs no port, no websocket and no new
dependency (Playwright's own transport to chromium is this pipe), and the handful of messages
fits in this module. Kill-safety: chromium exits by itself when this process dies (the pipe
closes), and every tab is closed after its page is printed.
"""

import atexit
import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

# What chromium's --print-to-pdf sends (components/headless/command_handler, headless_command.js)
# with --no-pdf-header-footer: the PDF is the one the one-shot command printed.
PRINT_PARAMS = {
    "displayHeaderFooter": False,
    "generateTaggedPDF": True,
    "printBackground": True,
    "preferCSSPageSize": True,
}
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--remote-debugging-pipe",
)


class BrowserGone(RuntimeError):
    """The chromium session failed; the caller prints the page the one-shot way instead."""


class PdfSession:
    """A headless chromium reached through fds 3 (commands in) and 4 (messages out)."""

    def __init__(self, chromium: str) -> None:
        self.profile = tempfile.mkdtemp(prefix="ice-pdf-profile-")
        to_child, self._send_fd = os.pipe()
        self._recv_fd, from_child = os.pipe()

        def _wire() -> None:  # in the child: its ends on fds 3 and 4, whatever numbers they had
            high_in = fcntl.fcntl(to_child, fcntl.F_DUPFD, 10)
            high_out = fcntl.fcntl(from_child, fcntl.F_DUPFD, 10)
            os.dup2(high_in, 3)
            os.dup2(high_out, 4)

        try:
            self.process = subprocess.Popen(  # noqa: S603 - a fixed argument list
                [chromium, *FLAGS, f"--user-data-dir={self.profile}", "about:blank"],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                pass_fds=(3, 4),
                preexec_fn=_wire,  # noqa: PLW1509 - dup2 onto fixed fds needs it
            )
        finally:
            os.close(to_child)
            os.close(from_child)
        self._buffer = b""
        self._next_id = 0
        self.lock = threading.Lock()

    def _send(self, method: str, params: dict[str, Any] | None, session: str | None) -> int:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        data = json.dumps(message).encode("utf-8") + b"\0"
        while data:
            data = data[os.write(self._send_fd, data) :]
        return self._next_id

    def _receive(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._recv_fd], [], [], left)[0]:
                raise BrowserGone("chromium did not answer in time")
            chunk = os.read(self._recv_fd, 1 << 20)
            if not chunk:
                raise BrowserGone("chromium closed its DevTools pipe")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def call(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        *,
        session: str | None = None,
        deadline: float,
        until_event: str | None = None,
    ) -> dict[str, Any]:
        """Send a command; its result (and, with ``until_event``, wait for that event too)."""
        wanted = self._send(method, params, session)
        result: dict[str, Any] | None = None
        seen_event = until_event is None
        while result is None or not seen_event:
            message = self._receive(deadline)
            if message.get("id") == wanted:
                if "error" in message:
                    raise BrowserGone(f"{method}: {message['error'].get('message')}")
                result = message.get("result", {})
            elif message.get("method") == until_event and message.get("sessionId") == session:
                seen_event = True
        return result

    def print_page(self, page: Path, timeout_s: float) -> bytes:
        """``page`` (an HTML file) printed to PDF in a fresh tab, closed afterwards."""
        deadline = time.monotonic() + timeout_s
        with self.lock:
            target = self.call("Target.createTarget", {"url": "about:blank"}, deadline=deadline)
            target_id = target["targetId"]
            try:
                attached = self.call(
                    "Target.attachToTarget",
                    {"targetId": target_id, "flatten": True},
                    deadline=deadline,
                )
                session = attached["sessionId"]
                self.call("Page.enable", session=session, deadline=deadline)
                self.call(
                    "Page.navigate",
                    {"url": page.as_uri()},
                    session=session,
                    deadline=deadline,
                    until_event="Page.loadEventFired",
                )
                printed = self.call(
                    "Page.printToPDF", PRINT_PARAMS, session=session, deadline=deadline
                )
            finally:
                self.call("Target.closeTarget", {"targetId": target_id}, deadline=deadline)
        return base64.b64decode(printed["data"])

    def close(self) -> None:
        """Ask chromium to quit (closing the pipe is enough), wait briefly, remove its profile."""
        for fd in (self._send_fd, self._recv_fd):
            try:
                os.close(fd)
            except OSError:
                pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.profile, ignore_errors=True)


_SESSION: PdfSession | None = None
_START_LOCK = threading.Lock()


def print_with_session(chromium: str, page: Path, timeout_s: float) -> bytes:
    """Print ``page`` with this process's chromium (started on first use); BrowserGone if not."""
    global _SESSION  # noqa: PLW0603 - one browser per process, by design
    with _START_LOCK:
        if _SESSION is not None and _SESSION.process.poll() is not None:
            close_session()
        if _SESSION is None:
            try:
                _SESSION = PdfSession(chromium)
            except OSError as err:
                raise BrowserGone(f"chromium did not start ({err})") from err
        session = _SESSION
    try:
        return session.print_page(page, timeout_s)
    except (BrowserGone, OSError, ValueError, KeyError) as err:
        close_session()  # a broken session is never reused
        raise BrowserGone(str(err)) from err


def close_session() -> None:
    """Close this process's chromium, if one was started (also at interpreter exit)."""
    global _SESSION  # noqa: PLW0603
    session, _SESSION = _SESSION, None
    if session is not None:
        session.close()


atexit.register(close_session)
