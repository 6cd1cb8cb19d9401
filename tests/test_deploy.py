"""deploy/: the JupyterHub configurations load and mean what the README says."""

from __future__ import annotations

import json
import runpy
import stat
from pathlib import Path
from typing import Any

import pytest
import yaml
from traitlets.config import Config
from typer.testing import CliRunner

from conftest import REPO
from digiready.cli import app
from digiready.student_lab import ASSIGNMENT_LIST_PLUGIN, INSTRUCTOR_PLUGINS

DEPLOY = REPO.root / "deploy"
SECRET_URL = "postgresql+psycopg://grader:secret@db.example.ac.uk/digiready"


def hub_config(monkeypatch: pytest.MonkeyPatch, **environment: str) -> Any:
    """deploy/jupyterhub_config.py run as JupyterHub runs it, with `environment` set."""
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    config = Config()
    runpy.run_path(str(DEPLOY / "jupyterhub_config.py"), {"get_config": lambda: config})
    return config


def test_one_server_course_config(monkeypatch: pytest.MonkeyPatch) -> None:
    c = hub_config(
        monkeypatch,
        DIGIREADY_INSTRUCTORS="alee,jsmith",
        DIGIREADY_DB_URL=SECRET_URL,
        DIGIREADY_HUB_CONFIG="/etc/digiready",
    )
    assert c.JupyterHub.spawner_class == "localprocess"
    assert c.Spawner.environment == {"JUPYTER_CONFIG_PATH": "/etc/digiready/student"}
    assert c.JupyterHub.load_groups["instructors"] == {"users": ["alee", "jsmith"]}
    assert c.JupyterHub.load_groups["formgrade-digiready"]["users"] == [
        "alee", "jsmith", "grader-digiready"
    ]
    (role,) = c.JupyterHub.load_roles
    assert role["scopes"] == ["access:services!service=digiready"]
    assert role["groups"] == ["formgrade-digiready"]
    (service,) = c.JupyterHub.services
    assert service["name"] == "digiready" and service["user"] == "grader-digiready"
    assert service["cwd"] == "/home/grader-digiready/digiready"
    assert service["environment"]["DIGIREADY_DB_URL"] == SECRET_URL
    assert service["environment"]["JUPYTER_CONFIG_PATH"] == "/etc/digiready/instructor"
    assert service["environment"]["JUPYTERHUB_DEFAULT_URL"] == "/formgrader"
    assert "secret" not in json.dumps(dict(c.Spawner)), "students never see the gradebook's URL"


def test_without_a_database_url_the_service_uses_the_course_sqlite(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DIGIREADY_DB_URL", raising=False)
    c = hub_config(monkeypatch, DIGIREADY_COURSE_ID="sw101")
    (service,) = c.JupyterHub.services
    assert "DIGIREADY_DB_URL" not in service["environment"]
    assert service["name"] == "sw101" and service["user"] == "grader-sw101"
    assert c.JupyterHub.load_groups["instructors"] == {"users": []}


def test_hub_config_command_writes_both_configurations(tmp_path: Path) -> None:
    exchange = tmp_path / "exchange"
    result = CliRunner().invoke(
        app, ["hub-config", str(tmp_path / "etc"), "--exchange", str(exchange),
              "--course-id", "sw101"]
    )
    assert result.exit_code == 0, result.output
    student = tmp_path / "etc" / "student"
    disabled = json.loads((student / "labconfig" / "page_config.json").read_text())
    assert set(disabled["disabledExtensions"]) == set(INSTRUCTOR_PLUGINS)
    assert ASSIGNMENT_LIST_PLUGIN not in disabled["disabledExtensions"], "Assignments tab kept"
    servers = json.loads((student / "jupyter_server_config.json").read_text())
    assert servers["ServerApp"]["jpserver_extensions"] == {
        "nbgrader.server_extensions.formgrader": False,
        "nbgrader.server_extensions.course_list": False,
    }
    for role in ("student", "instructor"):
        nbgrader = json.loads((tmp_path / "etc" / role / "nbgrader_config.json").read_text())
        assert nbgrader["Exchange"]["root"] == str(exchange)
        assert nbgrader["CourseDirectory"]["course_id"] == "sw101"
    instructor = tmp_path / "etc" / "instructor"
    assert sorted(p.name for p in instructor.iterdir()) == ["nbgrader_config.json"]
    mode = exchange.stat().st_mode
    assert stat.S_IMODE(mode) == 0o1777, "every student may hand in; nobody deletes another's"


def test_zero_to_jupyterhub_config_has_the_same_settings() -> None:
    values = yaml.safe_load((DEPLOY / "z2jh" / "config.yaml").read_text(encoding="utf-8"))
    hub = values["hub"]["config"]
    assert hub["JupyterHub"]["authenticator_class"].endswith("lti13.auth.LTI13Authenticator")
    assert {"issuer", "client_id", "authorize_url", "jwks_endpoint"} <= set(
        hub["LTI13Authenticator"]
    )
    assert "instructors" in hub["JupyterHub"]["load_groups"]
    single = values["singleuser"]
    assert single["extraEnv"] == {"JUPYTER_CONFIG_PATH": "/etc/digiready/student"}
    mounts = {m["mountPath"] for m in single["storage"]["extraVolumeMounts"]}
    assert "/srv/nbgrader/exchange" in mounts
    dockerfile = (DEPLOY / "z2jh" / "Dockerfile").read_text(encoding="utf-8")
    assert "digiready hub-config /etc/digiready --exchange /srv/nbgrader/exchange" in dockerfile


class _Spawner:
    def __init__(self, groups: list[str]) -> None:
        self.user = type("User", (), {"groups": [type("G", (), {"name": g}) for g in groups]})
        self.environment = {"JUPYTER_CONFIG_PATH": "/etc/digiready/student"}
        self.volumes: list[dict[str, object]] = []
        self.volume_mounts: list[dict[str, object]] = []


def test_zero_to_jupyterhub_gives_only_instructors_the_course_and_gradebook(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    values = yaml.safe_load((DEPLOY / "z2jh" / "config.yaml").read_text(encoding="utf-8"))
    monkeypatch.setenv("DIGIREADY_DB_URL", SECRET_URL)
    c = Config()
    exec(values["hub"]["extraConfig"]["digiready"], {"c": c})  # as the chart's hub does
    hook = c.KubeSpawner.pre_spawn_hook
    instructor, student = _Spawner(["instructors"]), _Spawner([])
    hook(instructor)
    hook(student)
    assert instructor.environment["JUPYTER_CONFIG_PATH"] == "/etc/digiready/instructor"
    assert instructor.environment["DIGIREADY_DB_URL"] == SECRET_URL
    assert [m["mountPath"] for m in instructor.volume_mounts] == ["/home/jovyan/course"]
    assert student.environment == {"JUPYTER_CONFIG_PATH": "/etc/digiready/student"}
    assert student.volumes == [] and student.volume_mounts == []
