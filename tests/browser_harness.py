"""JupyterLab in headless Chromium, driven as a student would, for tests/test_browser.py.

`Lab` serves a folder with JupyterLab on 127.0.0.1 (random port and token) and starts Debian's
Chromium, which Playwright drives over the DevTools protocol. Both are our own child processes,
stopped by their process ids; HOME, TMPDIR and every Jupyter folder point into a temporary
folder. `StudentNotebook` is one notebook open in a tab: it runs cells, steps through scenario
widgets by mouse or keyboard, types answers, saves, screenshots each step and reads what
assistive technology is given (Chromium's own accessibility tree).

This module imports Playwright: import it only once `test_browser.py` has checked that
Playwright and Chromium are installed.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from playwright.sync_api import (
    Browser,
    BrowserContext,
    CDPSession,
    Locator,
    Page,
    Playwright,
    expect,
    sync_playwright,
)
from playwright.sync_api import (
    TimeoutError as PlaywrightTimeoutError,
)

CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
)
STARTUP_TIMEOUT_S = 90
STEP_TIMEOUT_MS = 20_000
CELL_TIMEOUT_MS = 60_000
MAX_SCENARIO_STEPS = 20
# Where a cell of the open notebook is in the page, whatever JupyterLab's windowing mode.
CELL = '.jp-Notebook [data-windowed-list-index="{index}"]'
CONTROLS = ":is(button, input, select, textarea)"
# The button a scenario view shows after Choose, Continue or See the debrief is pressed.
NEXT_BUTTONS = re.compile(r"^(Continue|See the debrief|Start again)$")

_KERNEL_READY = """() => {
  const panel = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  if (!panel || !panel.context || !panel.context.isReady || !panel.sessionContext) return false;
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  return !!kernel && kernel.connectionStatus === 'connected' && kernel.status === 'idle'
    && panel.content.widgets.length > 0;
}"""
_RUN_CELL = """async ([index, timeout]) => {
  const app = window.jupyterapp;
  const notebook = app.shell.currentWidget.content;
  notebook.deselectAll();
  notebook.activeCellIndex = index;
  const late = new Promise((_, fail) =>
    setTimeout(() => fail(new Error(`cell ${index} still running after ${timeout} ms`)), timeout));
  return await Promise.race([app.commands.execute('notebook:run-cell'), late]);
}"""
# Two animation frames: by then Chromium has laid out and painted what a script just changed.
_TWO_FRAMES = "new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))"
_NEXT_FRAME = f"() => {_TWO_FRAMES}"
_SCROLL_TO_CELL = """async (index) => {
  await window.jupyterapp.shell.currentWidget.content.scrollToItem(index, 'start');
  await """ + _TWO_FRAMES + ";\n}"
_CENTRE = """async (element) => {
  element.scrollIntoView({block: 'center'});
  await """ + _TWO_FRAMES + ";\n}"
_NOTEBOOK_STATE = """() => {
  const notebook = window.jupyterapp.shell.currentWidget.content;
  return {mode: notebook.mode, cells: notebook.widgets.map(cell => cell.model.type).join(',')};
}"""
_FOCUS_CELL = """(index) => {
  const notebook = window.jupyterapp.shell.currentWidget.content;
  notebook.activeCellIndex = index;
  notebook.mode = 'command';
  notebook.activeCell.node.focus();
}"""
_FOCUSED = """() => {
  const element = document.activeElement;
  return element ? `${element.tagName.toLowerCase()} "${(element.textContent || '').trim()
    .slice(0, 40)}"` : 'nothing';
}"""
_HEADINGS = """() => Array.from(document.querySelectorAll(
    '.jp-Notebook :is(h1, h2, h3, h4, h5, h6)'))
  .filter(heading => heading.checkVisibility())
  .map(heading => ({
    level: Number(heading.tagName[1]),
    text: heading.textContent.replace('¶', '').trim().slice(0, 80),
    markdown: !!heading.closest('.jp-RenderedMarkdown'),
  }))"""
_IMAGES = """() => Array.from(document.querySelectorAll(
    '.jp-Notebook :is(.jp-OutputArea-output img, .jp-RenderedMarkdown img, .jp-RenderedSVG)'))
  .map(image => ({
    alt: (image.getAttribute('alt') || image.getAttribute('aria-label') || '').trim(),
    cell: image.closest('[data-windowed-list-index]').dataset.windowedListIndex,
  }))"""
_VISIBLE_CONTROLS = """(selector) => Array.from(document.querySelectorAll(selector))
  .filter(control => control.checkVisibility())"""
# The focus outline drawn around an element, and the colour behind it (the nearest ancestor with
# a background that is not transparent; the page's white if none).
_OUTLINE = """(element) => {
  const style = getComputedStyle(element);
  const width = parseFloat(style.outlineWidth), offset = parseFloat(style.outlineOffset);
  // An outline drawn inside the border (negative offset) is seen against the element itself.
  let background = 'rgb(255, 255, 255)';
  for (let node = offset < 0 ? element : element.parentElement; node; node = node.parentElement) {
    const colour = getComputedStyle(node).backgroundColor;
    const alpha = colour.startsWith('rgba') ? Number(colour.split(',')[3].replace(')', '')) : 1;
    if (colour !== 'transparent' && alpha > 0) { background = colour; break; }
  }
  // Parts of the outline cut off by an ancestor that hides its overflow, up to the output.
  const grow = Math.max(0, offset + width), box = element.getBoundingClientRect();
  const clippedBy = [];
  for (let node = element.parentElement; node && !node.classList.contains('jp-OutputArea-output');
       node = node.parentElement) {
    const s = getComputedStyle(node);
    if (s.overflowX === 'visible' && s.overflowY === 'visible') continue;
    const area = node.getBoundingClientRect();
    if (box.left - grow < area.left - 0.5 || box.right + grow > area.right + 0.5
        || box.top - grow < area.top - 0.5 || box.bottom + grow > area.bottom + 0.5)
      clippedBy.push(node.className);
  }
  return {style: style.outlineStyle, width, offset, colour: style.outlineColor, background,
          clippedBy, focusVisible: element.matches(':focus-visible')};
}"""
# Where an element's top edge is inside the notebook's scrolling area: 0 at its top, 1 at its
# bottom, below 0 or above 1 when scrolled out of view.
_TOP_IN_VIEW = """(element) => {
  const area = element.closest('.jp-WindowedPanel-outer') || document.scrollingElement;
  const box = area.getBoundingClientRect();
  return (element.getBoundingClientRect().top - box.top) / area.clientHeight;
}"""


def text(locator: Locator) -> str:
    """The text of every element `locator` matches, whitespace collapsed (rendered or not)."""
    return " ".join(" ".join(locator.all_text_contents()).split())


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def private_environment(root: Path) -> dict[str, str]:
    """os.environ with HOME, TMPDIR and every Jupyter, IPython and XDG folder under `root`."""
    folders = {
        "HOME": "home",
        "TMPDIR": "tmp",
        "JUPYTER_CONFIG_DIR": "jupyter-config",
        "JUPYTER_DATA_DIR": "jupyter-data",
        "JUPYTER_RUNTIME_DIR": "jupyter-runtime",
        "JUPYTERLAB_SETTINGS_DIR": "lab-settings",
        "JUPYTERLAB_WORKSPACES_DIR": "lab-workspaces",
        "IPYTHONDIR": "ipython",
        "MPLCONFIGDIR": "matplotlib",
        "XDG_CONFIG_HOME": "xdg-config",
        "XDG_CACHE_HOME": "xdg-cache",
        "XDG_DATA_HOME": "xdg-data",
    }
    env = dict(os.environ)
    for variable, name in folders.items():
        (root / name).mkdir(parents=True, exist_ok=True)
        env[variable] = str(root / name)
    # The "Jupyter news?" toast can cover widgets; students' own Lab may show it, tests need not.
    labconfig = root / "jupyter-config" / "labconfig"
    labconfig.mkdir(exist_ok=True)
    disabled = {"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}}
    (labconfig / "page_config.json").write_text(json.dumps(disabled), encoding="utf-8")
    return env


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """Stop a process we started in its own session by its id (SIGTERM, then SIGKILL), then
    whatever is left in its process group (the server's kernels, the browser's helpers)."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


def _group_alive(group: int, grace_s: float = 5) -> bool:
    """Whether any process of `group` is still there after up to `grace_s` seconds."""
    deadline = time.monotonic() + grace_s
    while True:
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return False
        if time.monotonic() > deadline:
            return True
        time.sleep(0.1)


def _log_tail(path: Path, lines: int = 30) -> str:
    return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])


def _wait_until(
    ready: Callable[[], bool], what: str, process: subprocess.Popen[bytes], log: Path
) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while not ready():
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}:\n{_log_tail(log)}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} not ready after {STARTUP_TIMEOUT_S} s:\n{_log_tail(log)}")
        time.sleep(0.2)


def start_chromium(
    chromium: Path, private: Path, env: dict[str, str]
) -> tuple[subprocess.Popen[bytes], Callable[[], str]]:
    """Headless Chromium in its own session, and a function giving its DevTools endpoint."""
    profile = private / "chromium-profile"
    log = private / "chromium.log"
    command = [
        str(chromium),
        *CHROMIUM_ARGS,
        f"--user-data-dir={profile}",
        "--remote-debugging-address=127.0.0.1",
        "--remote-debugging-port=0",
        "about:blank",
    ]
    with log.open("wb") as output:
        process = subprocess.Popen(
            command,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    active_port = profile / "DevToolsActivePort"

    def endpoint() -> str:
        _wait_until(lambda: active_port.is_file(), "Chromium", process, log)
        _wait_until(lambda: len(active_port.read_text().split()) == 2, "Chromium", process, log)
        port, path = active_port.read_text().split()
        return f"ws://127.0.0.1:{port}{path}"

    return process, endpoint


class Lab:
    """A JupyterLab server serving `served` and a headless Chromium, with their process ids.

    By default the server is the student's Lab, configured as `digiready lab` configures it
    (`digiready.student_lab`: no instructor tools, no exchange); `student=False` keeps nbgrader's
    instructor tools and runs the server in `cwd` (a course root, for formgrader).
    `browser_of` shares another Lab's Chromium (Playwright allows one per thread)."""

    def __init__(
        self,
        served: Path,
        private: Path,
        chromium: Path,
        screenshots: Path,
        student: bool = True,
        cwd: Path | None = None,
        browser_of: Lab | None = None,
    ) -> None:
        self.served = served
        self.screenshots = screenshots
        self.cwd = cwd or served
        self.env = private_environment(private)
        if student:
            from digiready.student_lab import student_config, with_config_path

            config = student_config(private / "student-config", exchange=False)
            self.env = with_config_path(config, self.env)
        self.port = free_port()
        self.token = secrets.token_hex(24)
        self._server = self._start_server(private / "lab.log")
        self._browser_process: subprocess.Popen[bytes] | None = None
        self._playwright: Playwright | None = None
        try:
            if browser_of is not None:
                self._browser: Browser = browser_of._browser
                _wait_until(self._server_ready, "JupyterLab", self._server, private / "lab.log")
            else:
                self._browser_process, debugging = start_chromium(chromium, private, self.env)
                _wait_until(self._server_ready, "JupyterLab", self._server, private / "lab.log")
                self._playwright = sync_playwright().start()
                self._browser = self._playwright.chromium.connect_over_cdp(debugging())
        except BaseException:
            self.close()
            raise
        expect.set_options(timeout=STEP_TIMEOUT_MS)

    def still_running(self) -> list[str]:
        """The processes we started that are still running: none once `close` has returned."""
        return [
            f"{what} (process group {process.pid})"
            for what, process in (("JupyterLab", self._server), ("Chromium", self._browser_process))
            if process is not None and _group_alive(process.pid)
        ]

    def _start_server(self, log: Path) -> subprocess.Popen[bytes]:
        command = [
            sys.executable,
            "-m",
            "jupyter",
            "lab",
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            f"--ServerApp.root_dir={self.served}",
            f"--IdentityProvider.token={self.token}",
            "--LabApp.expose_app_in_browser=True",
        ]
        if os.geteuid() == 0:
            command.append("--allow-root")
        with log.open("wb") as output:
            return subprocess.Popen(
                command,
                cwd=self.cwd,
                env=self.env,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def _server_ready(self) -> bool:
        url = f"http://127.0.0.1:{self.port}/api/status?token={self.token}"
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    def close(self) -> None:
        """Disconnect Playwright, then stop the browser and the server by their process ids."""
        playwright = getattr(self, "_playwright", None)
        if playwright is not None:
            with suppress(Exception):
                self._browser.close()
            with suppress(Exception):
                playwright.stop()
        if getattr(self, "_browser_process", None) is not None:
            assert self._browser_process is not None
            stop_process(self._browser_process)
        stop_process(self._server)

    @contextmanager
    def tab(self, path: str) -> Iterator[Page]:
        """A new browser tab on a server page such as "formgrader/..."."""
        url = f"http://127.0.0.1:{self.port}/{path}?token={self.token}"
        context = self._browser.new_context(viewport={"width": 1280, "height": 900})
        try:
            context.set_default_timeout(STEP_TIMEOUT_MS)
            page = context.new_page()
            page.goto(url, timeout=STARTUP_TIMEOUT_S * 1000)
            yield page
        finally:
            context.close()

    def url(self, notebook: str, workspace: str) -> str:
        """The URL that opens `notebook` (a path in the served folder) in a fresh workspace."""
        return (
            f"http://127.0.0.1:{self.port}/lab/workspaces/{workspace}/tree/{notebook}"
            f"?reset&token={self.token}"
        )

    @contextmanager
    def open(self, notebook: str, screenshots: str) -> Iterator[StudentNotebook]:
        """Open `notebook` in a new browser context and wait until its kernel is really ready."""
        context: BrowserContext = self._browser.new_context(viewport={"width": 1280, "height": 900})
        try:
            context.set_default_timeout(STEP_TIMEOUT_MS)
            page = context.new_page()
            workspace = re.sub(r"[^a-z0-9]+", "-", notebook.lower())
            page.goto(self.url(notebook, workspace), timeout=STARTUP_TIMEOUT_S * 1000)
            page.wait_for_function(_KERNEL_READY, timeout=STARTUP_TIMEOUT_S * 1000)
            folder = self.screenshots / screenshots
            folder.mkdir(parents=True, exist_ok=True)
            yield StudentNotebook(page, self.served / notebook, folder)
        finally:
            context.close()


@dataclass(frozen=True)
class Control:
    """A widget control as Chromium's accessibility tree exposes it."""

    cell: int
    element: str
    role: str
    name: str


@dataclass
class ScenarioWidget:
    """The parts of one `digiready.student.scenario_view.ScenarioView` on the page.

    Its VBox holds, in order, the header, story, feedback and debrief HTML widgets between the
    radio buttons and the "Choose", "Continue"/"See the debrief" and "Start again" buttons.
    """

    root: Locator

    @property
    def story(self) -> Locator:
        return self.root.locator(":scope > .widget-html").nth(1)

    @property
    def feedback(self) -> Locator:
        return self.root.locator(":scope > .widget-html").nth(2)

    @property
    def debrief(self) -> Locator:
        return self.root.locator(":scope > .widget-html").nth(3)

    @property
    def options(self) -> Locator:
        return self.root.get_by_role("radio")

    @property
    def question(self) -> Locator:
        """The step's question at the end of the story: it names the options' group."""
        return self.root.locator(".digiready-question")

    @property
    def group(self) -> Locator:
        """The element holding the radio buttons (one radio group for assistive technology)."""
        return self.root.locator(".widget-radio-box")

    def button(self, name: str) -> Locator:
        """A visible button, found by its accessible name as assistive technology finds it."""
        return self.root.get_by_role("button", name=name, exact=True)

    def option_label(self, number: int) -> Locator:
        """The label of option `number`: what a student clicks."""
        return self.root.locator(".widget-radio-box label").nth(number)

    def option_labels(self) -> list[str]:
        labels = self.root.locator(".widget-radio-box label").all_text_contents()
        return [" ".join(label.split()) for label in labels]


class StudentNotebook:
    """One notebook open in JupyterLab, used as a student would, with a screenshot per step."""

    def __init__(self, page: Page, path: Path, screenshots: Path) -> None:
        self.page = page
        self.path = path
        self.screenshots = screenshots
        self._shots = 0

    # --- cells -------------------------------------------------------------------------------

    def cell(self, index: int) -> Locator:
        return self.page.locator(CELL.format(index=index))

    def output(self, index: int) -> Locator:
        return self.cell(index).locator(".jp-OutputArea-output")

    def output_text(self, index: int) -> str:
        """The text of the outputs of cell `index`."""
        return text(self.output(index))

    def scroll_to(self, index: int) -> None:
        self.page.evaluate(_SCROLL_TO_CELL, index)

    def run_cell(self, index: int) -> bool:
        """Run one cell as Shift+Enter would; False when it raised an error."""
        return bool(self.page.evaluate(_RUN_CELL, [index, CELL_TIMEOUT_MS]))

    def screenshot(self, name: str, target: int | Locator | None = None) -> Path:
        """A screenshot of the window, scrolled to cell `target` or centred on an element."""
        if isinstance(target, int):
            self.scroll_to(target)
        elif target is not None:
            target.evaluate(_CENTRE)
        self._shots += 1
        path = self.screenshots / f"{self._shots:02d}-{name}.png"
        self.page.screenshot(path=str(path))
        return path

    def assert_no_dialog(self) -> None:
        """No JupyterLab dialog is blocking the student."""
        expect(self.page.locator(".jp-Dialog")).to_have_count(0)

    def notebook_state(self) -> dict[str, str]:
        """The notebook's mode and cell types: keys meant for a widget must not change them."""
        return dict(self.page.evaluate(_NOTEBOOK_STATE))

    # --- scenario widgets --------------------------------------------------------------------

    def scenario(self, index: int) -> ScenarioWidget:
        root = self.cell(index).locator(".digiready-scenario")
        expect(root).to_have_count(1)
        return ScenarioWidget(root)

    def restart(self, widget: ScenarioWidget) -> None:
        """Back to the first step if a previous test left the widget finished."""
        restart = widget.button("Start again")
        if restart.count():
            restart.click()
        expect(widget.button("Choose")).to_be_enabled()

    def walk(
        self, index: int, name: str, keyboard: bool = False, timeout: int = STEP_TIMEOUT_MS
    ) -> list[str]:
        """Step through the scenario in cell `index` to its end and start again; the path taken.

        By mouse it clicks option k (mod the number of options) at step k, so paths differ. By
        keyboard the student arrives on the cell in command mode (as after Up or Down) and uses
        only Tab, Shift+Tab, Space (select an option) and Enter (press a button), taking the last
        option each time; after every button the focus must move to the next one to press.
        Either way the notebook's mode and cells must not change. Fails if feedback, the next
        step or the debrief does not appear within `timeout` ms.
        """
        widget = self.scenario(index)
        self.restart(widget)
        first_story = text(widget.story)
        if keyboard:
            self.focus_cell(index)
        before = self.notebook_state()
        how = "keyboard" if keyboard else "click"
        path: list[str] = []
        for step in range(MAX_SCENARIO_STEPS):
            story = text(widget.story)
            labels = widget.option_labels()
            assert self.radio_group(widget) == (text(widget.question), labels)
            number = len(labels) - 1 if keyboard else step % len(labels)
            option = widget.options.nth(number)
            expect(option).to_be_enabled()
            if keyboard:
                self.tab_to(option, "Tab" if step == 0 else "Shift+Tab")
                self.page.keyboard.press("Space")
            else:
                widget.option_label(number).click()
            expect(option).to_be_checked()
            self._press(widget.button("Choose"), keyboard)
            expect(widget.feedback).to_contain_text(f"You chose: {labels[number]}", timeout=timeout)
            path.append(labels[number])
            self.screenshot(f"{name}-{how}-step-{step + 1}", widget.feedback)
            after = self._next_button(widget, keyboard)
            label = (after.text_content() or "").strip()
            self._press(after, keyboard)
            if label == "Continue":
                expect(widget.story).not_to_have_text(story, timeout=timeout)
                expect(widget.feedback).to_have_text("")
                if keyboard:
                    self.expect_top_in_view(widget.story)
                continue
            if label == "See the debrief":
                self._expect_debrief(widget, path, timeout)
                self.screenshot(f"{name}-{how}-debrief", widget.debrief)
                self._press(self._next_button(widget, keyboard), keyboard)
            break
        else:
            raise AssertionError(f"{name}: no end after {MAX_SCENARIO_STEPS} steps")
        expect(widget.story).to_have_text(first_story, timeout=timeout)
        expect(widget.feedback).to_have_text("")
        if keyboard:
            expect(widget.button("Choose")).to_be_focused()
        assert self.notebook_state() == before, "using the widget changed the notebook"
        return path

    def _next_button(self, widget: ScenarioWidget, keyboard: bool) -> Locator:
        """The one button shown after a press; a keyboard user must find the focus on it."""
        buttons = widget.root.get_by_role("button", name=NEXT_BUTTONS)
        expect(buttons).to_have_count(1)
        if keyboard:
            expect(buttons).to_be_focused()
        return buttons

    def _press(self, button: Locator, keyboard: bool) -> None:
        if keyboard:
            self.tab_to(button, "Tab")
            self.page.keyboard.press("Enter")
        else:
            button.click()

    def _expect_debrief(self, widget: ScenarioWidget, path: list[str], timeout: int) -> None:
        heading = widget.debrief.get_by_role("heading", name="Debrief")
        expect(heading).to_be_visible(timeout=timeout)
        for part in ("Your path:", "Principle:", "Law and guidance:", "Capability:"):
            expect(widget.debrief).to_contain_text(part)
        shown = text(widget.debrief)
        assert all(f"Your choice: {label}" in shown for label in path), (path, shown)
        assert shown.count("Recommended here:") == len(path), shown

    def radio_group(self, widget: ScenarioWidget) -> tuple[str, list[str]]:
        """What a screen reader gets for the options: the accessible name of the radio group
        around them, and the names of the radio buttons in it in order (Chromium numbers them
        "1 of n" ... within that group). Fails unless every option is a radio in one group."""
        # Off screen, JupyterLab skips rendering a cell (content-visibility), and Chromium leaves
        # what it does not render out of the accessibility tree.
        widget.group.scroll_into_view_if_needed()
        token = secrets.token_hex(8)
        widget.group.evaluate("(element, token) => { element.dataset.axProbe = token; }", token)
        session = self.page.context.new_cdp_session(self.page)
        try:
            found = session.send("Runtime.evaluate", {
                "expression": f"document.querySelector('[data-ax-probe=\"{token}\"]')"})
            described = session.send("DOM.describeNode",
                                     {"objectId": found["result"]["objectId"]})
            backend = described["node"]["backendNodeId"]
            node = self._rendered_ax_node(session, backend, widget.group)
            role = node.get("role", {}).get("value", "")
            assert role == "radiogroup", f"the options are in a {role!r}, not a radiogroup"
            radios = session.send("Accessibility.queryAXTree",
                                  {"backendNodeId": backend, "role": "radio"})["nodes"]
            names = [" ".join(str(r.get("name", {}).get("value", "")).split()) for r in radios]
            assert len(names) == widget.options.count(), "not every option is in the group"
            return " ".join(str(node.get("name", {}).get("value", "")).split()), names
        finally:
            session.detach()
            widget.group.evaluate("element => { delete element.dataset.axProbe; }")

    def _rendered_ax_node(self, session: CDPSession, backend: int, element: Locator,
                          timeout: int = STEP_TIMEOUT_MS) -> dict[str, Any]:
        """The accessibility node of `element` once Chromium has rendered it. Just scrolled into
        view, a cell may not be painted yet, and until then its node is "ignored" (role none)."""
        deadline = time.monotonic() + timeout / 1000
        while True:
            node: dict[str, Any] = session.send(
                "Accessibility.getPartialAXTree",
                {"backendNodeId": backend, "fetchRelatives": False})["nodes"][0]
            if not node.get("ignored") or time.monotonic() > deadline:
                return node
            element.scroll_into_view_if_needed()
            self.page.evaluate(_NEXT_FRAME)

    def expect_top_in_view(self, element: Locator, timeout: int = STEP_TIMEOUT_MS) -> None:
        """The top of `element` comes into the notebook's visible area (not scrolled past)."""
        try:
            self.page.wait_for_function(
                f"(element) => {{ const where = ({_TOP_IN_VIEW})(element); "
                "return where >= 0 && where < 0.9; }",
                arg=element.element_handle(),
                timeout=timeout,
            )
        except PlaywrightTimeoutError:
            where = self.top_in_view(element)
            raise AssertionError(f"the top of {element} is at {where:.2f} of the visible area "
                                 "(0 is its top, 1 its bottom)") from None

    def top_in_view(self, element: Locator) -> float:
        """Where the top of `element` is in the notebook's visible area (0 top, 1 bottom)."""
        return float(element.evaluate(_TOP_IN_VIEW))

    def focus_outline(self, control: Locator) -> dict[str, Any]:
        """The focus outline of `control` (which has the keyboard focus) and the colour behind."""
        expect(control).to_be_focused()
        return dict(control.evaluate(_OUTLINE))

    def focus_cell(self, index: int) -> None:
        """Put the notebook in command mode on cell `index`, as after Up or Down."""
        self.page.evaluate(_FOCUS_CELL, index)

    def tab_to(self, target: Locator, key: Literal["Tab", "Shift+Tab"], limit: int = 12) -> int:
        """Press `key` until `target` has the keyboard focus; how many presses it took."""
        for presses in range(limit + 1):
            if target.evaluate("element => element === document.activeElement"):
                return presses
            if presses < limit:
                self.page.keyboard.press(key)
        focused = self.page.evaluate(_FOCUSED)
        raise AssertionError(f"{limit} x {key} did not reach {target}; focus is on {focused}")

    def try_each_option(self, index: int) -> list[str]:
        """Choose each option of the one-step widget in cell `index` in turn; the feedback."""
        widget = self.scenario(index)
        self.restart(widget)
        feedback: list[str] = []
        for number, label in enumerate(widget.option_labels()):
            widget.option_label(number).click()
            widget.button("Choose").click()
            expect(widget.feedback).to_contain_text(f"You chose: {label}")
            feedback.append(text(widget.feedback))
            self.screenshot(f"practice-option-{number + 1}", widget.feedback)
            widget.button("Start again").click()
            expect(widget.feedback).to_have_text("")
        return feedback

    # --- answers ---------------------------------------------------------------------------

    def _execution_count(self, index: int) -> int:
        count = self.page.evaluate(
            "(i) => window.jupyterapp.shell.currentWidget.content.widgets[i].model.executionCount",
            index,
        )
        return int(count or 0)

    def answer_and_check(self, index: int, answer: str) -> str:
        """Type `answer` over answer cell `index`, press Shift+Enter twice (the answer, then the
        check below it) and return what the check shows."""
        check = index + 1
        before = self._execution_count(check)
        editor = self.cell(index).locator(".cm-content")
        editor.click()
        self.page.keyboard.press("ControlOrMeta+A")
        self.page.keyboard.type(answer)
        expect(editor).to_have_text(answer)
        self.page.keyboard.press("Shift+Enter")
        self.page.keyboard.press("Shift+Enter")
        self.page.wait_for_function(
            """([i, before]) => {
              const cell = window.jupyterapp.shell.currentWidget.content.widgets[i];
              return (cell.model.executionCount || 0) > before;
            }""",
            arg=[check, before],
        )
        expect(self.output(check).first).to_be_visible()
        return self.output_text(check)

    def type_and_run(self, index: int, typed: str) -> str:
        """Click code cell `index`, select its text, type `typed` key by key, press Shift+Enter
        and wait for the run to end; what the cell shows (the focus is then on the next cell)."""
        before = self._execution_count(index)
        editor = self.cell(index).locator(".cm-content")
        editor.click()
        self.page.keyboard.press("ControlOrMeta+A")
        self.page.keyboard.type(typed)
        self.page.keyboard.press("Shift+Enter")
        self._wait_for_run(index, before)
        return self.output_text(index)

    def run_next(self, index: int) -> str:
        """Press Shift+Enter on cell `index` (where the focus went after the cell above ran);
        what it shows."""
        before = self._execution_count(index)
        self.page.keyboard.press("Shift+Enter")
        self._wait_for_run(index, before)
        expect(self.output(index).first).to_be_visible()
        return self.output_text(index)

    def _wait_for_run(self, index: int, before: int) -> None:
        self.page.wait_for_function(
            """([i, before]) => {
              const cell = window.jupyterapp.shell.currentWidget.content.widgets[i];
              return (cell.model.executionCount || 0) > before;
            }""",
            arg=[index, before],
            timeout=CELL_TIMEOUT_MS,
        )

    def write_in_text_cell(self, index: int, words: str) -> None:
        """What the reflection instructions say: click the text cell once, press Enter, select
        its text and type over it key by key, then Shift+Enter."""
        self.scroll_to(index)
        self.cell(index).locator(".jp-RenderedMarkdown, .jp-InputArea").first.click()
        self.page.keyboard.press("Enter")
        expect(self.cell(index).locator(".cm-content")).to_be_focused()
        self.page.keyboard.press("ControlOrMeta+A")
        self.page.keyboard.type(words)
        self.page.keyboard.press("Shift+Enter")
        expect(self.cell(index).locator(".jp-RenderedMarkdown")).to_contain_text(words[:60])

    def save(self, menu: bool = False) -> None:
        """Save with Ctrl+S, or as the how-to says first with `menu`: File > Save Notebook; wait
        until JupyterLab has written the file."""
        if menu:
            self.page.locator("#jp-MainMenu").get_by_text("File", exact=True).click()
            self.page.locator(".lm-Menu-itemLabel").get_by_text(
                "Save Notebook", exact=True).click()
        else:
            self.page.keyboard.press("ControlOrMeta+S")
        self.page.wait_for_function(
            "() => !window.jupyterapp.shell.currentWidget.context.model.dirty"
        )
        self.assert_no_dialog()

    # --- accessibility -----------------------------------------------------------------------

    def controls(self, index: int) -> list[Control]:
        """The visible widget controls in cell `index` as Chromium exposes them.

        Reads Chromium's own accessibility tree (what a screen reader gets) after scrolling the
        cell into view: cells off screen are not rendered, so not in the tree.
        """
        self.scroll_to(index)
        selector = f"{CELL.format(index=index)} .jupyter-widgets {CONTROLS}"
        session = self.page.context.new_cdp_session(self.page)
        try:
            found = session.send(
                "Runtime.evaluate",
                {"expression": f"({_VISIBLE_CONTROLS})({json.dumps(selector)})"},
            )
            elements = session.send(
                "Runtime.getProperties",
                {"objectId": found["result"]["objectId"], "ownProperties": True},
            )
            controls = []
            for element in elements["result"]:
                if not element["name"].isdigit():
                    continue
                tree = session.send(
                    "Accessibility.getPartialAXTree",
                    {"objectId": element["value"]["objectId"], "fetchRelatives": False},
                )
                node = tree["nodes"][0]
                name = "" if node.get("ignored") else node.get("name", {}).get("value", "")
                controls.append(
                    Control(
                        cell=index,
                        element=element["value"].get("description", ""),
                        role=node.get("role", {}).get("value", ""),
                        name=str(name).strip(),
                    )
                )
            return controls
        finally:
            session.detach()

    def headings(self) -> list[dict[str, Any]]:
        """The visible headings of the notebook (markdown and outputs) in page order."""
        return list(self.page.evaluate(_HEADINGS))

    def heading_problems(self) -> list[str]:
        """A first heading that is not h1, and every heading that skips a level."""
        headings = self.headings()
        problems = [] if headings and headings[0]["level"] == 1 else ["the first heading is not h1"]
        return problems + [
            f"h{before['level']} {before['text']!r} is followed by h{after['level']} "
            f"{after['text']!r}"
            for before, after in zip(headings, headings[1:], strict=False)
            if after["level"] > before["level"] + 1
        ]

    def images_without_alt(self) -> list[str]:
        """Images in markdown and outputs with no alt text (or aria-label), by cell."""
        return [
            f"cell {image['cell']}" for image in self.page.evaluate(_IMAGES) if not image["alt"]
        ]

    @contextmanager
    def planted(self, index: int, markup: str) -> Iterator[None]:
        """Add `markup` to the first widget in cell `index` for a while (to test the checks)."""
        self.cell(index).locator(".jupyter-widgets").first.evaluate(
            "(widget, markup) => widget.insertAdjacentHTML('beforeend', "
            "`<div data-planted>${markup}</div>`)",
            markup,
        )
        try:
            yield
        finally:
            self.page.evaluate("() => document.querySelector('[data-planted]').remove()")
