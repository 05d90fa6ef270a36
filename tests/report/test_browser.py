"""A real headless Chromium opens a rendered report with the network blocked.

It records every request the page tries, every console message and exception, and every
dialog; the report must ask for nothing but its own file, log no error, and leave the markup
planted in its data inert. A control page with an outside image and an inline script proves
that the harness does see such things. Chromium is driven over the DevTools protocol with the
``websocket-client`` package; Debian's ``chromium`` is installed by ``.ci/run``. The
screenshots are written under each test's tmp_path; every report's, on screen and in print, is
copied to the folder ``$PRIVSTATS_DOCS_SCREENSHOTS`` names when it is set (the README's
``docs/screenshots/``).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import struct
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import websocket

DOCS_ENV = "PRIVSTATS_DOCS_SCREENSHOTS"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        CHROMIUM is None,
        reason="Debian's chromium is not installed (apt-get install chromium); .ci/run installs it",
    ),
]

FLAGS = (
    "--headless",
    "--no-sandbox",  # the tests run as root, where Chromium's sandbox cannot start
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--mute-audio",
    # The network is blocked three times over: no proxy answers, no host name resolves, and
    # the page's network is emulated offline (below). Requests are still *attempted*, and
    # recorded, which is what the test looks at.
    "--proxy-server=http://127.0.0.1:9",
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--remote-debugging-port=0",
    "--window-size=1100,900",
)


@dataclass
class PageVisit:
    """What a page did while it loaded."""

    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    title: str = ""
    checks: dict[str, Any] = field(default_factory=dict)


class DevTools:
    """A minimal DevTools-protocol client: commands in, events collected."""

    def __init__(self, url: str) -> None:
        self.socket = websocket.create_connection(url, timeout=30, suppress_origin=True)
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def send(self, method: str, session: str | None = None, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        message: dict[str, Any] = {"id": self.next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        self.socket.send(json.dumps(message))
        # wait_for and drain leave the socket with what was left of their own deadline (a
        # fraction of a second): a reply is given the full time again.
        self.socket.settimeout(30)
        while True:
            reply = json.loads(self.socket.recv())
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self._event(reply)

    def wait_for(self, method: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        if any(e["method"] == method for e in self.events):
            return
        while time.monotonic() < deadline:
            self.socket.settimeout(max(0.05, deadline - time.monotonic()))
            try:
                event = json.loads(self.socket.recv())
            except websocket.WebSocketTimeoutException:
                break
            self._event(event)
            if event.get("method") == method:
                return
        raise TimeoutError(f"no {method} within {timeout} s")

    def drain(self, seconds: float) -> None:
        """Collect events for a while (late requests, late errors)."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            self.socket.settimeout(left)
            try:
                self._event(json.loads(self.socket.recv()))
            except websocket.WebSocketTimeoutException:
                return

    def _event(self, event: dict[str, Any]) -> None:
        if "method" not in event:
            return
        self.events.append(event)
        if event["method"] == "Page.javascriptDialogOpening":
            # Answer the dialog, or the page would wait for it for ever.
            message = {
                "id": 10**6 + len(self.events),
                "method": "Page.handleJavaScriptDialog",
                "params": {"accept": False},
                "sessionId": event.get("sessionId"),
            }
            self.socket.send(json.dumps(message))

    def close(self) -> None:
        self.socket.close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    profile = tmp_path_factory.mktemp("chromium-profile")
    log = (profile.parent / "chromium.log").open("wb")
    process = subprocess.Popen(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
        stdout=log,
        stderr=log,
    )
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not port_file.exists() or len(port_file.read_text().split()) < 2:
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"Chromium did not start (see {profile.parent / 'chromium.log'})")
            time.sleep(0.05)
        port, path = port_file.read_text().split()[:2]
        client = DevTools(f"ws://127.0.0.1:{port}{path}")
        yield client
        client.close()
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def visit(
    client: DevTools,
    url: str,
    screenshot: Path | None = None,
    max_height: int = 6000,
    *,
    width: int = 1100,
    media: str = "",
) -> PageVisit:
    """Load ``url`` offline and record what it did; ``media="print"`` lays it out as printed."""
    target = client.send("Target.createTarget", url="about:blank")["targetId"]
    session = client.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
    client.events.clear()
    for domain in ("Page", "Network", "Runtime", "Log"):
        client.send(f"{domain}.enable", session)
    client.send(
        "Network.emulateNetworkConditions",
        session,
        offline=True,
        latency=0,
        downloadThroughput=-1,
        uploadThroughput=-1,
    )
    if media:
        client.send("Emulation.setEmulatedMedia", session, media=media)
    client.send(
        "Emulation.setDeviceMetricsOverride", session, width=width, height=900,
        deviceScaleFactor=1, mobile=False,
    )  # fmt: skip
    client.send("Page.navigate", session, url=url)
    client.wait_for("Page.loadEventFired", timeout=30)
    client.drain(0.5)
    result = PageVisit()
    for event in client.events:
        method, params = event["method"], event.get("params", {})
        if event.get("sessionId") not in (None, session):
            continue
        if method == "Network.requestWillBeSent":
            result.requests.append(params["request"]["url"])
        elif method == "Runtime.exceptionThrown":
            result.errors.append(params["exceptionDetails"].get("text", "exception"))
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            result.errors.append("console " + params["type"])
        elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
            result.errors.append(params["entry"].get("text", "log error"))
        elif method == "Page.javascriptDialogOpening":
            result.dialogs.append(params.get("type", "dialog"))
    probe = """JSON.stringify({
        title: document.title,
        active: document.querySelectorAll(
            'script, img, iframe, object, embed, link, base, [onerror], [onload]').length,
        headers: Array.from(document.querySelectorAll('tbody th')).map(th => th.textContent),
        svgText: Array.from(document.querySelectorAll('svg text')).map(t => t.textContent),
        bodyText: document.body.innerText,
        width: document.documentElement.scrollWidth,
        height: document.documentElement.scrollHeight,
        charts: document.querySelectorAll('figure.chart svg').length,
        folded: Array.from(document.querySelectorAll('details')).filter(d => !d.open).length,
        tables: document.querySelectorAll('table.data').length,
        headline: document.querySelectorAll('.headline .figure-box').length,
        nav: Array.from(document.querySelectorAll('nav'), n => getComputedStyle(n).display)
            .join(''),
    })"""
    value = client.send("Runtime.evaluate", session, expression=probe, returnByValue=True)
    result.checks = json.loads(value["result"]["value"])
    result.title = result.checks["title"]
    if screenshot is not None:
        client.send(
            "Emulation.setDeviceMetricsOverride",
            session,
            width=width,
            height=min(int(result.checks["height"]), max_height),
            deviceScaleFactor=1,
            mobile=False,
        )
        shot = client.send("Page.captureScreenshot", session, format="png")
        screenshot.write_bytes(base64.b64decode(shot["data"]))
    client.send("Target.closeTarget", targetId=target)
    return result


def test_the_harness_sees_requests_and_scripts_on_a_control_page(browser, tmp_path) -> None:
    control = tmp_path / "control.html"
    control.write_text(
        "<!DOCTYPE html><title>control</title>"
        '<img src="http://example.invalid/pixel.png" alt="">'
        "<script>document.title = 'script ran'; console.error('boom');</script>",
        encoding="utf-8",
    )
    seen = visit(browser, control.as_uri())
    assert any(url.startswith("http://example.invalid/") for url in seen.requests)
    assert seen.title == "script ran"
    assert seen.errors  # the console error, and the blocked image
    assert seen.checks["active"] >= 2


def test_the_report_loads_nothing_and_runs_nothing(browser, tiny_pl, tmp_path) -> None:
    report = tiny_pl.folder / "report.html"
    screenshot = tmp_path / "report.png"
    seen = visit(browser, report.as_uri(), screenshot)
    assert seen.requests == [report.as_uri()]
    assert seen.errors == []
    assert seen.dialogs == []
    assert seen.title == "Mały raport testowy"
    assert seen.checks["active"] == 0
    for planted in ("<script>alert(1)</script>", "<img src=x onerror=alert(2)>"):
        assert planted in seen.checks["headers"]  # shown to the reader as text
        assert planted in seen.checks["svgText"]  # and on the chart's axis
        assert planted in seen.checks["bodyText"]
    assert "PRINTED-CANARY-7f3a" not in seen.checks["bodyText"]
    assert "Metodologia i ochrona danych" in seen.checks["bodyText"]
    png = screenshot.read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = struct.unpack(">II", png[16:24])
    assert width == 1100 and height > 900


@pytest.mark.parametrize("language", ["pl", "en"])
def test_a_partner_summary_loads_nothing_and_shows_its_charts(
    browser, sample_reports, tmp_path, language: str
) -> None:
    report = sample_reports["partner_summary", "acme", language].folder / "report.html"
    screenshot = tmp_path / "partner.png"
    seen = visit(browser, report.as_uri(), screenshot, max_height=2400)
    assert seen.requests == [report.as_uri()]
    assert seen.errors == [] and seen.dialogs == []
    assert seen.checks["active"] == 0
    words = {"pl": ("udział w grupie (%)", "partner acme"), "en": ("share of the group (%)",
             "partner acme")}[language]  # fmt: skip
    assert words[0] in seen.checks["svgText"]  # chart labels are text, not paths
    assert words[1] in seen.checks["bodyText"]
    width, height = struct.unpack(">II", screenshot.read_bytes()[16:24])
    assert width == 1100 and 900 < height <= 2400


def test_the_crm_report_renders_without_errors(browser, sample_reports) -> None:
    report = sample_reports["crm_activity_report", None, "pl"].folder / "report.html"
    seen = visit(browser, report.as_uri())
    assert seen.requests == [report.as_uri()]
    assert seen.errors == [] and seen.dialogs == []
    assert "Aktywne osoby według modułu i czynności" in seen.checks["bodyText"]


def test_the_english_report_renders_without_errors(browser, tiny_en) -> None:
    report = tiny_en.folder / "report.html"
    seen = visit(browser, report.as_uri())
    assert seen.requests == [report.as_uri()]
    assert seen.errors == [] and seen.dialogs == []
    assert "Methodology and data protection" in seen.checks["bodyText"]


@pytest.mark.parametrize(
    ("name", "words"),
    [("traffic_report", "true value lies within ±"), ("partner_summary", "prawdziwa wartość")],
)
def test_dp_reports_load_nothing_and_show_their_margins_of_error(
    browser, dp_reports, name: str, words: str
) -> None:
    report = dp_reports[name] / "report.html"
    seen = visit(browser, report.as_uri())
    assert seen.requests == [report.as_uri()]
    assert seen.errors == [] and seen.dialogs == []
    assert words in seen.checks["bodyText"]


REPORTS = [("traffic_report", None), ("crm_activity_report", None), ("partner_summary", "acme")]


@pytest.mark.parametrize("language", ["pl", "en"])
@pytest.mark.parametrize(("name", "partner"), REPORTS, ids=[r[0] for r in REPORTS])
def test_every_report_on_screen_and_in_print_shows_charts_with_the_numbers_folded(
    browser, sample_reports, tmp_path, name: str, partner: str | None, language: str
) -> None:
    """At 1280 px on screen and as printed on A4, every chart is there with its table folded
    below it, nothing is requested and nothing runs. With ``$PRIVSTATS_DOCS_SCREENSHOTS`` set
    to a folder, the screenshots land there (the README's, under docs/screenshots/)."""
    report = sample_reports[name, partner, language].folder / "report.html"
    shots = {}
    for media in ("screen", "print"):
        shots[media] = tmp_path / f"{name}-{language}{'-print' if media == 'print' else ''}.png"
        seen = visit(browser, report.as_uri(), shots[media], max_height=4000, width=1280,
                     media=media)  # fmt: skip
        assert seen.requests == [report.as_uri()]
        assert seen.errors == [] and seen.dialogs == [] and seen.checks["active"] == 0
        assert seen.checks["charts"] == seen.checks["folded"] > 0
        assert seen.checks["width"] <= 1280, "nothing overflows the page sideways"
        assert seen.checks["nav"] == ("none" if media == "print" else "block")
        width, _ = struct.unpack(">II", shots[media].read_bytes()[16:24])
        assert width == 1280
    if name != "partner_summary":
        assert seen.checks["headline"] >= 4
    if folder := os.environ.get(DOCS_ENV):
        for shot in shots.values():
            shutil.copyfile(shot, Path(folder) / shot.name)
