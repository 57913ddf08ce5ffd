"""A screenshot of a live page with Debian's headless Chromium, driven over the DevTools protocol.

`chromium --screenshot` shoots at the load event, before a Streamlit page has drawn anything (it renders over
a WebSocket afterwards), so this waits in real time until the page shows `ready_text`, then captures.

Chromium is a tree of processes (browser, zygotes, renderer, utility, crashpad handlers) that keep writing
into the profile directory after the browser process is told to stop. The browser runs in a session of its
own; the crashpad handlers detach into sessions of their own, so they are found by the throwaway folder on
their command line (profile and config both live in it). The folder is removed only after every one of those
processes has gone, so nothing outlives the call.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import websockets

FLAGS = [  # no network beyond loopback, no first-run work, a throwaway profile
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
    "--disable-breakpad", "--window-size=1400,1800",
]  # fmt: skip


class ScreenshotError(Exception):
    """Why no screenshot was taken, in one line (no Chromium, a timeout, a crash)."""


def browser_binary() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def take(
    url: str, target: Path, ready_text: str, timeout: float = 90.0, settle: float = 3.0, scratch: Path | None = None
) -> None:
    """Write a PNG of `url` to `target` once the page shows `ready_text`; raise ScreenshotError otherwise.

    Every Chromium process started here has exited when this returns, whatever happened, and its throwaway
    folder (made in `scratch`, default the system's temporary folder) is gone.
    """
    browser = browser_binary()
    if browser is None:
        raise ScreenshotError("chromium is not installed (apt-get install chromium)")
    work = Path(tempfile.mkdtemp(prefix="stockfeed-chromium-", dir=scratch))
    profile = work / "profile"
    # Chromium's config folder holds the crashpad database: inside `work`, the handlers name it on their command line
    env = {**os.environ, "XDG_CONFIG_HOME": str(work / "config"), "XDG_CACHE_HOME": str(work / "cache")}
    chrome: subprocess.Popen[bytes] | None = None
    try:
        chrome = subprocess.Popen(
            # port 0: Chromium picks a free port and writes it to DevToolsActivePort in the profile
            [browser, *FLAGS, f"--user-data-dir={profile}", "--remote-debugging-port=0", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
            start_new_session=True,  # a session of its own: its children can be found and stopped with it
        )  # fmt: skip
        endpoint = _page_endpoint(chrome, profile, timeout=30)
        png = asyncio.run(asyncio.wait_for(_capture(endpoint, url, ready_text, timeout, settle), timeout + 30))
    except ScreenshotError:
        raise
    except (OSError, TimeoutError, ValueError, KeyError, websockets.WebSocketException) as error:
        raise ScreenshotError(f"{type(error).__name__}: {error}".strip()) from error
    finally:
        if chrome is not None:
            stop_browser(chrome, work)
        shutil.rmtree(work, ignore_errors=True)  # a leftover temporary folder never fails a screenshot
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(png)


def stop_browser(leader: subprocess.Popen[bytes], work: Path, grace: float = 10.0) -> None:
    """SIGTERM every process of the browser, SIGKILL what is left after `grace` seconds, wait until none is left."""
    _signal_all(browser_processes(leader.pid, work), signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        leader.wait(grace)
    deadline = time.monotonic() + grace
    while browser_processes(leader.pid, work) and time.monotonic() < deadline:
        time.sleep(0.1)
    _signal_all(browser_processes(leader.pid, work), signal.SIGKILL)
    leader.wait()
    deadline = time.monotonic() + grace
    while left := browser_processes(leader.pid, work):  # orphans go to init, which reaps them
        if time.monotonic() > deadline:
            raise ScreenshotError(f"chromium processes {left} did not exit")
        time.sleep(0.1)


def browser_processes(session: int, work: Path) -> list[int]:
    """Live (not zombie) processes of the browser's session, or naming its throwaway folder, read from /proc."""
    marker = str(work).encode()
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            state, sid = fields[0], int(fields[4])
            if state == "Z":
                continue
            if sid == session or marker in (stat.parent / "cmdline").read_bytes():
                found.append(int(stat.parent.name))
    return found


def _signal_all(pids: list[int], sig: signal.Signals) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)


def _page_endpoint(chrome: subprocess.Popen[bytes], profile: Path, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while True:
        if chrome.poll() is not None:
            raise ScreenshotError(f"chromium exited with {chrome.returncode} before its DevTools endpoint came up")
        with contextlib.suppress(OSError, ValueError, IndexError):
            port = int((profile / "DevToolsActivePort").read_text().split()[0])
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=2) as answer:
                pages = [t for t in json.load(answer) if t.get("type") == "page"]
            if pages:
                return str(pages[0]["webSocketDebuggerUrl"])
        if time.monotonic() > deadline:
            raise ScreenshotError(f"chromium's DevTools endpoint did not come up within {timeout:.0f}s")
        time.sleep(0.3)


async def _capture(endpoint: str, url: str, ready_text: str, timeout: float, settle: float) -> bytes:
    async with websockets.connect(endpoint, max_size=None) as ws:
        counter = 0

        async def call(method: str, **params: Any) -> dict[str, Any]:
            nonlocal counter
            counter += 1
            await ws.send(json.dumps({"id": counter, "method": method, "params": params}))
            while True:
                message = json.loads(await ws.recv())
                if message.get("id") == counter:
                    if "error" in message:
                        raise ScreenshotError(f"DevTools {method} failed: {message['error']}")
                    return dict(message.get("result", {}))

        await call("Page.navigate", url=url)
        deadline = time.monotonic() + timeout
        probe = f"document.body && document.body.innerText.includes({json.dumps(ready_text)})"
        while True:
            answer = await call("Runtime.evaluate", expression=probe, returnByValue=True)
            if answer.get("result", {}).get("value") is True:
                break
            if time.monotonic() > deadline:
                raise ScreenshotError(f"the page never showed {ready_text!r} within {timeout:.0f}s")
            await asyncio.sleep(1)
        await asyncio.sleep(settle)  # let charts finish drawing
        shot = await call("Page.captureScreenshot", format="png", captureBeyondViewport=False)
        return base64.b64decode(shot["data"])
