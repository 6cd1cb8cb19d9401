"""A real JupyterHub for tests/test_hub.py: throwaway Unix users, a Python they can run, and the
hub started from deploy/jupyterhub_config.py with a test authenticator, stopped by process id.

Students must be separate Unix users for "cannot read the other's feedback" to mean anything,
so this needs root (as CI has). Their servers need a Python they may execute: when this
environment's interpreter sits where they cannot reach it (pyenv under /root), a bridge virtual
environment is made from the system's Python of the same version, seeing this environment's
packages through a `.pth` file and its Jupyter configuration and data through links. When the
clone itself lies under a private folder (a checkout under /root), `passable` lets every user
pass through (not list) the folders above it for the length of the test.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import stat
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DEPLOY_CONFIG = REPO_ROOT / "deploy" / "jupyterhub_config.py"
PROXY = REPO_ROOT / ".venv" / "hub-proxy" / "node_modules" / ".bin" / "configurable-http-proxy"
STARTUP_TIMEOUT_S = 90


def hub_missing() -> str | None:
    """Why the hub test cannot run here, with how to fix it; None when it can."""
    if os.name != "posix" or os.geteuid() != 0:
        return "the JupyterHub test creates Unix users for its students: run it as root (as CI)"
    if not shutil.which("useradd"):
        return "the JupyterHub test needs useradd (Debian's passwd package)"
    if not PROXY.is_file() and not shutil.which("configurable-http-proxy"):
        return (
            f"JupyterHub's configurable-http-proxy is missing ({PROXY}): run `make hub-proxy` "
            "(needs node and npm: `sudo apt-get install nodejs npm`)"
        )
    return None


@contextmanager
def passable(*paths: Path) -> Iterator[None]:
    """Every folder above `paths` that others may not pass through gets the execute bit for
    others (search, not read) until the block ends; then each gets its own mode back."""
    opened: dict[Path, int] = {}
    for path in paths:
        for folder in path.resolve().parents:
            mode = stat.S_IMODE(folder.stat().st_mode)
            if folder not in opened and not mode & stat.S_IXOTH:
                opened[folder] = mode
                folder.chmod(mode | stat.S_IXOTH)
    try:
        yield
    finally:
        for folder, mode in opened.items():
            folder.chmod(mode)


def runs_as(user: str, python: Path) -> bool:
    """Whether Unix user `user` can start `python` and import JupyterHub and digiready."""
    done = subprocess.run(
        ["runuser", "-u", user, "--", str(python), "-c", "import jupyterhub, digiready"],
        capture_output=True, check=False, cwd="/",
    )
    return done.returncode == 0


def shared_python(folder: Path, user: str) -> Path:
    """A Python every user can run with this environment's packages (see the module note)."""
    own = Path(sys.executable)
    if runs_as(user, own):
        return own
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    system = shutil.which(version, path="/usr/bin:/usr/local/bin")
    if system is None:
        raise RuntimeError(
            f"students' servers cannot run {own} (its folder is private) and there is no "
            f"/usr/bin/{version}: install Debian's {version} or use a Python outside /root"
        )
    subprocess.run([system, "-m", "venv", "--without-pip", str(folder)], check=True)
    site = next(Path(p) for p in sys.path if p.endswith("site-packages") and sys.prefix in p)
    (folder / "lib" / version / "site-packages" / "digiready-environment.pth").write_text(
        f"import site; site.addsitedir({str(site)!r})\n", encoding="utf-8"
    )
    for shared in ("etc", "share"):  # Jupyter's configuration and data (lab extensions)
        (folder / shared).symlink_to(Path(sys.prefix) / shared)
    subprocess.run(["chmod", "-R", "a+rX", str(folder)], check=True)
    bridge = folder / "bin" / "python"
    if not runs_as(user, bridge):
        raise RuntimeError(
            f"Unix user {user} cannot import this environment's packages from {site}: a folder "
            "above it is private; run the tests from a clone others may enter (not under /root)"
        )
    return bridge


class UnixUsers:
    """Throwaway Unix users with private homes under `homes`; `remove` deletes them."""

    def __init__(self, homes: Path) -> None:
        self.homes = homes
        self.prefix = "dr" + secrets.token_hex(2)
        self.names: list[str] = []

    def add(self, role: str) -> str:
        name = f"{self.prefix}-{role}"
        home = self.homes / name
        subprocess.run(
            ["useradd", "--create-home", "--home-dir", str(home), "--shell", "/bin/sh",
             "--user-group", name],
            check=True, capture_output=True,
        )
        self.names.append(name)
        home.chmod(0o700)
        return name

    def uid(self, name: str) -> int:
        return pwd.getpwnam(name).pw_uid

    def remove(self) -> None:
        for name in self.names:
            subprocess.run(["userdel", "--force", "--remove", name], capture_output=True,
                           check=False)
        self.names.clear()


def hub_ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/hub/api", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def start_hub(
    folder: Path, config: Path, env: dict[str, str], url: str
) -> subprocess.Popen[bytes]:
    """`jupyterhub -f config` in its own session, once it answers at `url`."""
    log = folder / "hub.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "jupyterhub", "-f", str(config)],
            cwd=folder, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True,
        )
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while not hub_ready(url):
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-40:])
        if process.poll() is not None:
            raise RuntimeError(f"JupyterHub exited with {process.returncode}:\n{tail}")
        if time.monotonic() > deadline:
            process.terminate()
            raise RuntimeError(f"JupyterHub not ready after {STARTUP_TIMEOUT_S} s:\n{tail}")
        time.sleep(0.3)
    return process
