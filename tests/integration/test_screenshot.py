"""The demo's dashboard picture: Debian's headless Chromium against a local page, ten times in a row, leaves no
Chromium process and no temporary folder behind, and every way it can fail is one clear ScreenshotError."""

from __future__ import annotations

import contextlib
import http.server
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools" / "demo"))
import screenshot

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

PAGE = b"""<!doctype html><html><body><h1>Loading</h1><script>
setTimeout(() => { document.body.innerHTML = '<h1>Latest KPIs</h1>' + '<p>row</p>'.repeat(200); }, 300);
</script></body></html>"""


class _Page(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(PAGE)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def page_url() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()
    thread.join(10)


def processes_naming(folder: Path) -> list[str]:
    """Live processes whose command line names `folder`: every Chromium process carries its profile or
    crashpad database there."""
    marker = str(folder).encode()
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        with contextlib.suppress(OSError):
            raw = cmdline.read_bytes()
            status = (cmdline.parent / "status").read_text()
            if marker in raw and "State:\tZ" not in status:
                found.append(raw.replace(b"\0", b" ").decode(errors="replace")[:120])
    return found


@pytest.fixture
def chromium() -> None:
    if screenshot.browser_binary() is None:
        pytest.fail("chromium is not installed: `make bootstrap` installs it")


@pytest.mark.usefixtures("chromium")
def test_ten_screenshots_leave_no_chromium_behind(page_url: str, tmp_path: Path) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    for run in range(10):
        target = tmp_path / f"shot-{run}.png"
        screenshot.take(page_url, target, ready_text="Latest KPIs", timeout=30, settle=0.2, scratch=scratch)
        assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert not processes_naming(scratch), f"run {run} left chromium processes behind"
        assert not list(scratch.iterdir()), f"run {run} left its profile behind"


@pytest.mark.usefixtures("chromium")
def test_a_page_that_never_gets_ready_is_one_clear_error(page_url: str, tmp_path: Path) -> None:
    with pytest.raises(screenshot.ScreenshotError, match="never showed 'Nothing like this'"):
        screenshot.take(
            page_url, tmp_path / "shot.png", ready_text="Nothing like this", timeout=3, settle=0, scratch=tmp_path
        )
    assert not (tmp_path / "shot.png").exists()
    assert not processes_naming(tmp_path)
    assert not list(tmp_path.glob("stockfeed-chromium-*"))


def test_no_chromium_is_one_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(screenshot.shutil, "which", lambda _name: None)
    with pytest.raises(screenshot.ScreenshotError, match="chromium is not installed"):
        screenshot.take("http://127.0.0.1:9/", tmp_path / "shot.png", ready_text="x")


def test_a_browser_that_crashes_is_one_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(screenshot, "browser_binary", lambda: "/bin/false")
    with pytest.raises(screenshot.ScreenshotError, match="exited with 1 before its DevTools endpoint"):
        screenshot.take("http://127.0.0.1:9/", tmp_path / "shot.png", ready_text="x")
