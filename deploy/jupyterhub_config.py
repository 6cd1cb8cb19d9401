"""JupyterHub for one digiready course on one server (The Littlest JupyterHub or plain JupyterHub).

nbgrader's documented set-up "one course, several graders": students log in and spawn their own
JupyterLab as their own Unix user; the course's files and gradebook belong to a grader account
(`grader-<course>`) that runs nbgrader's formgrader as a JupyterHub service, reachable by the
`instructors` group only; assignments and feedback pass through nbgrader's exchange folder.
The students' Jupyter configuration (`digiready hub-config`) hides nbgrader's instructor tools.

Everything site-specific comes from the environment (defaults in brackets):
  DIGIREADY_COURSE_ID      the nbgrader course id                       [digiready]
  DIGIREADY_INSTRUCTORS    comma-separated hub user names               [none]
  DIGIREADY_GRADER_USER    Unix account owning the course               [grader-<course>]
  DIGIREADY_COURSE_ROOT    the course root (git clone of the course)    [/home/<grader>/<course>]
  DIGIREADY_HUB_CONFIG     folder `digiready hub-config` wrote          [/etc/digiready]
  DIGIREADY_DB_URL         the gradebook, e.g. postgresql+psycopg://... [SQLite in the root]
  DIGIREADY_FORMGRADER_PORT where the formgrader service listens        [9999]
  DIGIREADY_HUB_URL        where the hub listens                        [http://:8000]
The gradebook URL (with its password) is given to the formgrader service only, never to
students' servers.
"""

import os

c = get_config()  # noqa: F821  (JupyterHub provides get_config)

COURSE = os.environ.get("DIGIREADY_COURSE_ID", "digiready")
GRADER = os.environ.get("DIGIREADY_GRADER_USER", f"grader-{COURSE}")
COURSE_ROOT = os.environ.get("DIGIREADY_COURSE_ROOT", f"/home/{GRADER}/{COURSE}")
HUB_CONFIG = os.environ.get("DIGIREADY_HUB_CONFIG", "/etc/digiready")
INSTRUCTORS = [n for n in os.environ.get("DIGIREADY_INSTRUCTORS", "").split(",") if n.strip()]
FORMGRADER_PORT = int(os.environ.get("DIGIREADY_FORMGRADER_PORT", "9999"))

c.JupyterHub.bind_url = os.environ.get("DIGIREADY_HUB_URL", "http://:8000")

# Students: each their own Unix user and JupyterLab, with the student configuration first on
# the Jupyter path (Assignments tab and Validate; no Formgrader, Create Assignment, Course List).
c.JupyterHub.spawner_class = "localprocess"
c.Spawner.default_url = "/lab"
c.Spawner.environment = {"JUPYTER_CONFIG_PATH": os.path.join(HUB_CONFIG, "student")}

# Instructors: the hub's `instructors` group, who may open the course's formgrader service.
c.JupyterHub.load_groups = {
    "instructors": {"users": INSTRUCTORS},
    f"formgrade-{COURSE}": {"users": [*INSTRUCTORS, GRADER]},
    f"nbgrader-{COURSE}": {"users": []},
}
c.JupyterHub.load_roles = [
    {
        "name": f"formgrade-{COURSE}",
        "groups": [f"formgrade-{COURSE}"],
        "scopes": [f"access:services!service={COURSE}"],
    },
]

# The formgrader: a single-user server run as the grader account in the course root, as a
# JupyterHub service; it and every `digiready` command use the same gradebook.
service_environment = {
    "JUPYTERHUB_DEFAULT_URL": "/formgrader",
    "JUPYTER_CONFIG_PATH": os.path.join(HUB_CONFIG, "instructor"),
}
if "DIGIREADY_DB_URL" in os.environ:
    service_environment["DIGIREADY_DB_URL"] = os.environ["DIGIREADY_DB_URL"]
c.JupyterHub.services = [
    {
        "name": COURSE,
        "url": f"http://127.0.0.1:{FORMGRADER_PORT}",
        "command": ["jupyterhub-singleuser", f"--ServerApp.root_dir={COURSE_ROOT}"],
        "user": GRADER,
        "cwd": COURSE_ROOT,
        "environment": service_environment,
        "oauth_no_confirm": True,
    },
]
