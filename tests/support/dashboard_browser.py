"""Drive headless Chromium through the DevTools protocol over a pipe (no websocket library, no driver binary).

`--remote-debugging-pipe` makes Chromium read protocol commands from fd 3 and write replies and events to fd 4, each
message a JSON object ended by a NUL byte. `open_page` loads a URL, waits for the page's own `window.rolloutCharts`
promise (the dashboard resolves it once every chart has rendered or failed), and returns what a person would see:
the DOM after rendering, a full-page screenshot, the console errors, uncaught exceptions and every request that was
not for a file:// or data: URL.
"""
from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--no-default-browser-check",
         "--hide-scrollbars", "--mute-audio")


def chromium() -> str | None:
    if Path(CHROMIUM).exists():
        return CHROMIUM
    return shutil.which("chromium")


@dataclass
class PageVisit:
    dom: str = ""
    screenshot: bytes = b""          # the first `top` pixels of the page (what a person sees first)
    full_screenshot: bytes = b""     # the whole page
    console_errors: list[str] = field(default_factory=list)
    console_warnings: list[str] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)
    log_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)      # URLs that are not file: or data:
    ready: object = None                                    # what window.rolloutCharts resolved to


class DevTools:
    def __init__(self, binary: str, user_data_dir: Path, width: int, height: int):
        self._log = open(Path(user_data_dir) / "chromium.log", "wb")
        cmd_r, self._cmd_w = os.pipe()
        self._out_r, out_w = os.pipe()
        args = [binary, *FLAGS, f"--user-data-dir={user_data_dir}", f"--window-size={width},{height}",
                "--remote-debugging-pipe", "about:blank"]
        # fd 3: commands in, fd 4: replies out. Copies are made first so that moving one end onto 3 or 4 never
        # clobbers the other; the pipes' own fds are non-inheritable and close on exec.
        def move_pipes() -> None:
            cmd, out = os.dup(cmd_r), os.dup(out_w)
            os.dup2(cmd, 3)
            os.dup2(out, 4)

        self.proc = subprocess.Popen(args, preexec_fn=move_pipes, close_fds=False, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL,
                                     stderr=self._log)
        os.close(cmd_r)
        os.close(out_w)
        self._buf = b""
        self._next_id = 0
        self.events: list[dict] = []

    def _read_message(self) -> dict:
        while b"\0" not in self._buf:
            chunk = os.read(self._out_r, 1 << 16)
            if not chunk:
                raise RuntimeError(f"Chromium closed the DevTools pipe (exit {self.proc.poll()})")
            self._buf += chunk
        raw, self._buf = self._buf.split(b"\0", 1)
        return json.loads(raw)

    def send(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        self._next_id += 1
        msg = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        data = json.dumps(msg).encode() + b"\0"
        while data:
            data = data[os.write(self._cmd_w, data):]
        while True:
            reply = self._read_message()
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_event(self, method: str) -> dict:
        for i, ev in enumerate(self.events):
            if ev.get("method") == method:
                return self.events.pop(i)
        while True:
            ev = self._read_message()
            if ev.get("method") == method:
                return ev
            self.events.append(ev)

    def close(self) -> None:
        try:
            self.send("Browser.close")
        except (RuntimeError, OSError):
            pass
        self.proc.wait()
        self._log.close()
        os.close(self._cmd_w)
        os.close(self._out_r)


def open_page(url: str, user_data_dir: Path, *, width: int = 1400, height: int = 1000, top: int = 2200,
              ready_expression: str = "window.rolloutCharts") -> PageVisit:
    binary = chromium()
    if binary is None:
        raise RuntimeError("chromium is not installed")
    tools = DevTools(binary, user_data_dir, width, height)
    visit = PageVisit()
    try:
        target = next(t for t in tools.send("Target.getTargets")["targetInfos"] if t["type"] == "page")
        session = tools.send("Target.attachToTarget", {"targetId": target["targetId"], "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            tools.send(f"{domain}.enable", session=session)
        tools.send("Page.navigate", {"url": url}, session=session)
        tools.wait_event("Page.loadEventFired")
        result = tools.send("Runtime.evaluate", {"expression": ready_expression, "awaitPromise": True,
                                                 "returnByValue": True}, session=session)
        visit.ready = result.get("result", {}).get("value")
        if "exceptionDetails" in result:
            visit.exceptions.append(json.dumps(result["exceptionDetails"])[:2000])
        visit.dom = tools.send("Runtime.evaluate", {"expression": "document.documentElement.outerHTML",
                                                    "returnByValue": True}, session=session)["result"]["value"]
        metrics = tools.send("Page.getLayoutMetrics", session=session)
        full = metrics.get("cssContentSize") or metrics["contentSize"]
        tools.send("Emulation.setDeviceMetricsOverride", {"width": width, "height": int(full["height"]),
                                                          "deviceScaleFactor": 1, "mobile": False}, session=session)
        shot = tools.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True},
                          session=session)
        visit.full_screenshot = base64.b64decode(shot["data"])
        clip = {"x": 0, "y": 0, "width": width, "height": min(top, int(full["height"])), "scale": 1}
        shot = tools.send("Page.captureScreenshot", {"format": "png", "clip": clip, "captureBeyondViewport": True},
                          session=session)
        visit.screenshot = base64.b64decode(shot["data"])
    finally:
        tools.close()
    for ev in tools.events:
        method, params = ev.get("method"), ev.get("params", {})
        if method == "Runtime.consoleAPICalled":
            text = " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", []))
            if params.get("type") in ("error", "assert"):
                visit.console_errors.append(text)
            elif params.get("type") == "warning":
                visit.console_warnings.append(text)
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            visit.exceptions.append(details.get("exception", {}).get("description") or details.get("text", ""))
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            visit.log_errors.append(params["entry"].get("text", ""))
        elif method == "Network.requestWillBeSent":
            req_url = params.get("request", {}).get("url", "")
            if not req_url.startswith(("file:", "data:", "about:")):
                visit.requests.append(req_url)
    return visit
