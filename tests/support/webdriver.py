"""A minimal W3C WebDriver client (the HTTP protocol chromedriver speaks), for the real-browser test.

Enough to drive headless Chromium through a login and a page: navigate, find, type, click, switch frames, run a
script, read cookies and take a screenshot. (selenium itself needs a certifi newer than the package index has.)
"""

from __future__ import annotations

import base64
import contextlib
import json
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ELEMENT = "element-6066-11e4-a52e-4f735466cecf"


class WebDriverError(RuntimeError):
    pass


def find_browser() -> tuple[str, str] | None:
    """(chromium, chromedriver) paths, or None when either is missing."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    driver = shutil.which("chromedriver")
    return (browser, driver) if browser and driver else None


class Browser:
    def __init__(self, url: str, session: str):
        self.base, self.session = url, session

    def _call(self, method: str, path: str, body: dict | None = None):
        data = json.dumps(body if body is not None else {}).encode() if method == "POST" else None
        req = urllib.request.Request(f"{self.base}/session/{self.session}{path}", data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=120) as resp:
                return json.loads(resp.read())["value"]
        except urllib.error.HTTPError as exc:
            raise WebDriverError(exc.read().decode()[:2000]) from None

    def get(self, url: str) -> None:
        self._call("POST", "/url", {"url": url})

    @property
    def url(self) -> str:
        return self._call("GET", "/url")

    def find_all(self, css: str) -> list[str]:
        found = self._call("POST", "/elements", {"using": "css selector", "value": css})
        if not isinstance(found, list) or not all(isinstance(e, dict) for e in found):
            raise WebDriverError(f"unexpected answer to find {css!r}: {str(found)[:500]}")
        return [e[ELEMENT] for e in found]

    def wait_for(self, css: str, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while True:
            found = self.find_all(css)
            if found:
                return found[0]
            if time.monotonic() > deadline:
                raise WebDriverError(f"no element {css!r} at {self.url} after {timeout}s")
            time.sleep(0.5)

    def type(self, element: str, text: str) -> None:
        self._call("POST", f"/element/{element}/clear")
        self._call("POST", f"/element/{element}/value", {"text": text})

    def click(self, element: str) -> None:
        self._call("POST", f"/element/{element}/click")

    def text(self, element: str) -> str:
        return self._call("GET", f"/element/{element}/text")

    def run(self, script: str, *args):
        return self._call("POST", "/execute/sync", {"script": script, "args": list(args)})

    def frame(self, element: str | None) -> None:
        """Switch into an iframe element, or back to the top page with None."""
        self._call("POST", "/frame", {"id": {ELEMENT: element} if element else None})

    def cookies(self) -> dict[str, str]:
        return {c["name"]: c["value"] for c in self._call("GET", "/cookie")}

    def screenshot(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(self._call("GET", "/screenshot")))
        return path


@contextlib.contextmanager
def chromium(browser: str, driver: str, port: int, size: str = "1400,1000") -> Iterator[Browser]:
    """Headless Chromium driven through chromedriver on ``port``."""
    proc = subprocess.Popen([driver, f"--port={port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            with contextlib.suppress(OSError):
                urllib.request.urlopen(url + "/status", timeout=2).read()
                break
            time.sleep(0.2)
        caps = {"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {
            "binary": browser, "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                                        f"--window-size={size}"]}}}}
        req = urllib.request.Request(url + "/session", data=json.dumps(caps).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=120) as resp:
            session = json.loads(resp.read())["value"]["sessionId"]
        client = Browser(url, session)
        try:
            yield client
        finally:
            with contextlib.suppress(Exception):
                urllib.request.urlopen(urllib.request.Request(f"{url}/session/{session}", method="DELETE"), timeout=30)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
