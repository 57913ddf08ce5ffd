"""A screenshot of a live page with Debian's headless Chromium, driven over the DevTools protocol.

`chromium --screenshot` shoots at the load event, before a Streamlit page has drawn anything (it renders over
a WebSocket afterwards), so this waits in real time until the page shows `ready_text`, then captures.
"""

from __future__ import annotations

import asyncio
import base64
import json
import shutil
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
    "--window-size=1400,1800",
]  # fmt: skip


def take(url: str, target: Path, ready_text: str, timeout: float = 90.0, port: int = 9333) -> bool:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        return False
    with tempfile.TemporaryDirectory() as profile:
        chrome = subprocess.Popen(
            [browser, *FLAGS, f"--user-data-dir={profile}", f"--remote-debugging-port={port}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            endpoint = _page_endpoint(port, timeout=20)
            png = asyncio.run(_capture(endpoint, url, ready_text, timeout))
        finally:
            chrome.terminate()
            chrome.wait(10)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(png)
    return True


def _page_endpoint(port: int, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=2) as answer:
                pages = [t for t in json.load(answer) if t.get("type") == "page"]
            if pages:
                return str(pages[0]["webSocketDebuggerUrl"])
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError("chromium's DevTools endpoint did not come up")
        time.sleep(0.3)


async def _capture(endpoint: str, url: str, ready_text: str, timeout: float) -> bytes:
    async with websockets.connect(endpoint, max_size=None) as ws:
        counter = 0

        async def call(method: str, **params: Any) -> dict[str, Any]:
            nonlocal counter
            counter += 1
            await ws.send(json.dumps({"id": counter, "method": method, "params": params}))
            while True:
                message = json.loads(await ws.recv())
                if message.get("id") == counter:
                    return dict(message.get("result", {}))

        await call("Page.navigate", url=url)
        deadline = time.monotonic() + timeout
        probe = f"document.body && document.body.innerText.includes({json.dumps(ready_text)})"
        while time.monotonic() < deadline:
            answer = await call("Runtime.evaluate", expression=probe, returnByValue=True)
            if answer.get("result", {}).get("value") is True:
                break
            await asyncio.sleep(1)
        await asyncio.sleep(3)  # let charts finish drawing
        shot = await call("Page.captureScreenshot", format="png", captureBeyondViewport=False)
        return base64.b64decode(shot["data"])
