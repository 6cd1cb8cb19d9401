"""A course on a real JupyterHub, end to end (issue 16, part 3).

PostgreSQL from Debian's package in a temporary folder; JupyterHub on 127.0.0.1 started from
deploy/jupyterhub_config.py (a test authenticator instead of the site's login), each student a
throwaway Unix user with their own JupyterLab (LocalProcessSpawner). The instructor releases
module 09; two students log in through the hub in headless Chromium, fetch it from the
Assignments tab, answer (one well, one badly), validate and submit; the instructor collects,
runs `digiready grade` into PostgreSQL and releases feedback; each student fetches their own
feedback and cannot read the other's. Everything is stopped by process id; the users removed.
"""

from __future__ import annotations

import csv
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import nbformat
import pytest

from conftest import CHROMIUM, REPO, need_browser
from hub_harness import (
    DEPLOY_CONFIG,
    PROXY,
    UnixUsers,
    hub_missing,
    passable,
    shared_python,
    start_hub,
)
from postgres_harness import PostgresServer, need_postgres, postgres_server

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = [pytest.mark.hub, pytest.mark.slow, pytest.mark.usefixtures("sandbox_available")]
MODULE = "09-online-safeguarding"
NOTEBOOK = f"{MODULE}/{MODULE}.ipynb"
PASSWORD = secrets.token_hex(12)
TIMEOUT_MS = 60_000

_LAB_READY = """() => !!(window.jupyterapp && window.jupyterapp.shell
  && window.jupyterapp.commands.hasCommand('nbgrader:open-assignment-list'))"""
_NOTEBOOK_OPEN = """() => {
  const panel = window.jupyterapp.shell.currentWidget;
  return !!panel && !!panel.context && panel.context.isReady && panel.content.widgets.length > 0;
}"""
_ANSWER = """async (answers) => {
  const panel = window.jupyterapp.shell.currentWidget;
  let changed = 0;
  for (const cell of panel.content.widgets) {
    const id = ((cell.model.getMetadata('nbgrader') || {}).grade_id);
    if (id in answers) { cell.model.sharedModel.setSource(answers[id]); changed += 1; }
  }
  await panel.context.save();
  return changed;
}"""


def need_hub() -> None:
    """Skip (with advice) where the hub test cannot run; under CI, fail instead."""
    reason = hub_missing()
    if reason and os.environ.get("CI", "").lower() not in ("", "0", "false"):
        pytest.fail(f"CI is set: {reason}")
    if reason:
        pytest.skip(reason)


def solution_answers() -> dict[str, str]:
    """Module 09's answer cells as its solutions notebook has them, by grade id."""
    notebook = nbformat.read(REPO.module_notebook(REPO.solutions, MODULE), as_version=4)
    return {
        cell.metadata["nbgrader"]["grade_id"]: cell.source
        for cell in notebook.cells
        if cell.metadata.get("nbgrader", {}).get("solution")
    }


@dataclass
class Course:
    """The running course: the hub's URL, its people, folders and the instructor's environment."""

    url: str
    grader: str
    students: dict[str, str]  # role ("good", "bad") -> Unix user name
    root: Path
    exchange: Path
    env: dict[str, str]
    homes: Path
    python: Path  # a Python the students may run

    def instructor(self, *command: str) -> subprocess.CompletedProcess[str]:
        """Run a command in the course root as the instructor does; it must succeed."""
        done = subprocess.run(
            list(command), cwd=self.root, env=self.env, capture_output=True, text=True,
            check=False, timeout=600,
        )
        assert done.returncode == 0, f"{command}: {done.stdout}\n{done.stderr}"
        return done

    def as_student(self, role: str, *command: str) -> subprocess.CompletedProcess[str]:
        """Run a shell command as a student's Unix user (whatever it returns)."""
        return subprocess.run(
            ["runuser", "-u", self.students[role], "--", *command],
            capture_output=True, text=True, check=False, cwd="/",
        )


def _write_test_config(folder: Path, python: Path, users: list[str], ports: dict[str, int]) -> Path:
    """The deploy configuration, with a test authenticator and this machine's paths and ports."""
    config = folder / "jupyterhub_test_config.py"
    config.write_text(
        f"""load_subconfig({str(DEPLOY_CONFIG)!r})
c.JupyterHub.authenticator_class = "dummy"
c.DummyAuthenticator.password = {PASSWORD!r}
c.Authenticator.allowed_users = set({users!r})
c.JupyterHub.db_url = "sqlite:///" + {str(folder / "hub.sqlite")!r}
c.JupyterHub.cookie_secret_file = {str(folder / "cookie_secret")!r}
c.JupyterHub.hub_bind_url = "http://127.0.0.1:{ports["hub"]}"
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{ports["proxy_api"]}"
c.ConfigurableHTTPProxy.command = [{str(PROXY)!r}]
c.ConfigurableHTTPProxy.pid_file = {str(folder / "proxy.pid")!r}
c.Spawner.cmd = [{str(python)!r}, "-m", "jupyterhub.singleuser"]
c.Spawner.args = ["--LabApp.expose_app_in_browser=True"]
c.Spawner.start_timeout = 90
c.Spawner.http_timeout = 90
c.JupyterHub.services[0]["command"] = [{str(python)!r}, "-m", "jupyterhub.singleuser",
                                       *c.JupyterHub.services[0]["command"][1:]]
""",
        encoding="utf-8",
    )
    return config


def _free_ports(names: list[str]) -> dict[str, int]:
    """Distinct free TCP ports on 127.0.0.1, by name."""
    sockets = [socket.socket() for _ in names]
    try:
        for probe in sockets:
            probe.bind(("127.0.0.1", 0))
        return {name: int(s.getsockname()[1]) for name, s in zip(names, sockets, strict=True)}
    finally:
        for probe in sockets:
            probe.close()


@pytest.fixture(scope="module")
def course() -> Iterator[Course]:
    need_hub()
    need_browser()
    need_postgres()
    base = Path(tempfile.mkdtemp(prefix="digiready-hub-"))
    base.chmod(0o755)
    (base / "home").mkdir(mode=0o755)
    users = UnixUsers(base / "home")
    try:
        with passable(Path(sys.prefix), REPO.root), postgres_server() as server:
            yield from _run_hub(base, users, server)
    finally:
        users.remove()
        subprocess.run(["rm", "-rf", str(base)], check=False)


def _run_hub(base: Path, users: UnixUsers, server: PostgresServer) -> Iterator[Course]:
    from browser_harness import private_environment, stop_process
    from digiready.grading.autograde import prepare_course
    from digiready.hub import write_hub_config

    grader = users.add("grader")
    students = {"good": users.add("alice"), "bad": users.add("bob")}
    python = shared_python(base / "python", grader)
    root = base / "home" / grader / "digiready"
    gradebook = server.create_database("gradebook")
    with pytest.MonkeyPatch.context() as patch:  # the course's gradebook from the start
        patch.setenv("DIGIREADY_DB_URL", gradebook)
        prepare_course(REPO, [MODULE], root)
    (root / "course" / REPO.curriculum.name).write_bytes(REPO.curriculum.read_bytes())
    exchange = base / "exchange"
    configs = write_hub_config(base / "etc", exchange, "digiready")
    subprocess.run(["chown", "-R", f"{grader}:{grader}", str(root)], check=True)
    ports = _free_ports(["public", "hub", "proxy_api", "formgrader"])
    url = f"http://127.0.0.1:{ports['public']}"
    env = private_environment(base / "instructor")
    env.update({
        "PATH": f"{python.parent}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}"
                f"{env.get('PATH', '')}",
        "DIGIREADY_COURSE_ID": "digiready",
        "DIGIREADY_INSTRUCTORS": grader,
        "DIGIREADY_GRADER_USER": grader,
        "DIGIREADY_COURSE_ROOT": str(root),
        "DIGIREADY_HUB_CONFIG": str(base / "etc"),
        "DIGIREADY_DB_URL": gradebook,
        "DIGIREADY_FORMGRADER_PORT": str(ports["formgrader"]),
        "DIGIREADY_HUB_URL": url,
        "JUPYTER_CONFIG_PATH": str(configs["instructor"]),
    })
    hub_folder = base / "hub"
    hub_folder.mkdir()
    config = _write_test_config(hub_folder, python, [grader, *students.values()], ports)
    process = start_hub(hub_folder, config, env, url)
    try:
        yield Course(url, grader, students, root, exchange, env, base / "home", python)
    finally:
        stop_process(process)


@contextmanager
def _logged_in(course: Course, name: str, landing: str) -> Iterator[Page]:
    """Headless Chromium logged in to the hub as `name`, on `landing` (a glob of the URL the
    login leads to); Chromium stopped by its process id afterwards."""
    from playwright.sync_api import expect, sync_playwright

    from browser_harness import private_environment, start_chromium, stop_process

    private = Path(tempfile.mkdtemp(prefix="digiready-chromium-"))
    chromium, endpoint = start_chromium(Path(CHROMIUM), private, private_environment(private))
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.connect_over_cdp(endpoint())
            page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
            page.set_default_timeout(TIMEOUT_MS)
            expect.set_options(timeout=TIMEOUT_MS)
            page.goto(f"{course.url}/hub/login")
            page.fill("#username_input", name)
            page.fill("#password_input", PASSWORD)
            page.click("#login_submit")
            page.wait_for_url(landing, timeout=120_000)
            yield page
            browser.close()
    finally:
        stop_process(chromium)
        subprocess.run(["rm", "-rf", str(private)], check=False)


def _student_session(course: Course, role: str, answers: dict[str, str]) -> dict[str, str]:
    """A student logs in, fetches the module, answers, validates and submits; what they saw."""
    from playwright.sync_api import expect

    name = course.students[role]
    seen: dict[str, str] = {}
    with _logged_in(course, name, f"**/user/{name}/lab**") as page:
        page.wait_for_function(_LAB_READY, timeout=120_000)
        seen["menus"] = str(page.locator(".lm-MenuBar-itemLabel").all_inner_texts())
        page.evaluate("window.jupyterapp.commands.execute('nbgrader:open-assignment-list')")
        released = page.locator("#released_assignments_list")
        expect(released).to_contain_text(MODULE)
        released.get_by_role("button", name="Fetch").click()
        fetched = page.locator("#fetched_assignments_list")
        expect(fetched).to_contain_text(MODULE)
        page.evaluate(f"window.jupyterapp.commands.execute('docmanager:open', "
                      f"{{path: {json.dumps(NOTEBOOK)}}})")
        page.wait_for_function(_NOTEBOOK_OPEN)
        seen["changed"] = str(page.evaluate(_ANSWER, answers))
        page.locator(".jp-NotebookPanel-toolbar").get_by_role("button", name="Validate").click()
        dialog = page.locator(".jp-Dialog")
        expect(dialog).to_be_visible(timeout=180_000)
        expect(dialog).not_to_contain_text("Validating", timeout=180_000)
        seen["validate"] = " ".join(dialog.inner_text().split())
        dialog.locator("button").last.click()
        page.evaluate("window.jupyterapp.commands.execute('nbgrader:open-assignment-list')")
        fetched.get_by_role("button", name="Submit").click()
        expect(page.locator("#submitted_assignments_list")).to_contain_text(MODULE)
    return seen


def _formgrader_submissions(course: Course) -> str:
    """The instructor opens the course's formgrader service through the hub: the text of module
    09's submissions page (formgrader reads the PostgreSQL gradebook)."""
    with _logged_in(course, course.grader, "**/hub/**") as page:
        page.goto(f"{course.url}/services/digiready/formgrader/gradebook/{MODULE}/{MODULE}")
        rows = page.locator("table tbody tr")
        rows.nth(1).wait_for()
        return " ".join(page.locator("table").first.inner_text().split())


def _status(url: str) -> int:
    """The HTTP status of `url`, redirects not followed."""
    import urllib.error
    import urllib.request

    class Stay(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: object, **kwargs: object) -> None:
            return None

    try:
        with urllib.request.build_opener(Stay).open(url, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def test_a_cohort_works_through_the_hub_and_sees_only_its_own_feedback(course: Course) -> None:
    # the formgrader service runs, behind the hub's login (a stopped one would be a 503)
    assert _status(f"{course.url}/services/digiready/formgrader") in (302, 401, 403)
    course.instructor("nbgrader", "release_assignment", MODULE)

    good = _student_session(course, "good", solution_answers())
    one_answer = {k: v for k, v in solution_answers().items() if "answer_2_1 =" in v}
    assert len(one_answer) == 1
    bad = _student_session(course, "bad", one_answer)
    assert "Nbgrader" not in good["menus"], "students must not get nbgrader's instructor menu"
    assert "Success" in good["validate"], good["validate"]
    assert "Question 1.1: not answered yet" in bad["validate"], bad["validate"]
    assert "Question 2.1" not in bad["validate"], bad["validate"]

    course.instructor("nbgrader", "collect", MODULE)
    graded = course.instructor("digiready", "grade", MODULE, "--workers", "2")
    assert "2" in graded.stdout
    submissions = _formgrader_submissions(course)  # anonymised: "Submission #1", "#2"
    assert "Submission #2" in submissions and "Submission #3" not in submissions, submissions
    # code scores: all 24 automatic points for the model answers, the one answer's 2 points
    assert "24 / 24" in submissions and "2 / 24" in submissions, submissions
    course.instructor("digiready", "feedback", MODULE, "--allow-pending", "--release")
    course.instructor("digiready", "export", "--format", "csv", "--out", "grades.csv")
    assert not (course.root / "gradebook.db").exists(), "the marks must go into PostgreSQL"
    with (course.root / "grades.csv").open(encoding="utf-8-sig") as table:
        rows = {row["student_id"]: row for row in csv.DictReader(table)}
    assert set(rows) == set(course.students.values())

    def automatic(role: str) -> float:
        row = rows[course.students[role]]
        return sum(float(row[k]) for k in row if k.startswith(f"{MODULE}/") and "test" in k)

    assert automatic("good") > automatic("bad") > 0

    feedback = {}
    for role in ("good", "bad"):
        name = course.students[role]
        fetched = course.as_student(
            role, "env", f"HOME={course.homes / name}",
            f"JUPYTER_CONFIG_PATH={course.env['DIGIREADY_HUB_CONFIG']}/student",
            "sh", "-c",
            f"cd {course.homes / name} && {course.python} -m nbgrader fetch_feedback {MODULE}",
        )
        assert fetched.returncode == 0, fetched.stderr
        found = sorted((course.homes / name / MODULE / "feedback").rglob("*.html"))
        assert len(found) == 1, found
        feedback[role] = found[0]
    good_html = feedback["good"].read_text(encoding="utf-8")
    bad_html = feedback["bad"].read_text(encoding="utf-8")
    assert good_html != bad_html

    # each student's own feedback only: the other's home and the exchange's store are closed
    for reader, other in (("bad", "good"), ("good", "bad")):
        read = course.as_student(reader, "cat", str(feedback[other]))
        assert read.returncode != 0 and "Permission denied" in read.stderr
        listed = course.as_student(reader, "ls", str(course.exchange / "digiready" / "feedback"))
        assert listed.returncode != 0 and "Permission denied" in listed.stderr
