"""Confine the kernels that run students' code, with bubblewrap (`bwrap`).

Each grading worker runs its kernel fork server inside one bubblewrap sandbox: no network (a
network namespace of its own), its own process namespace, a read-only view of the system, of
Python and of digiready with its datasets, and nothing else of the host: not the gradebook, not
`course/`, not other students' work, not the grader's home. The only writable place is the
sandbox's scratch folder. Every kernel gets a fresh folder of its own in it (its working copy,
HOME, TMPDIR, /dev/shm and connection files), CPU-time, memory, process-count and file-size
limits, when grading as root a user id other than the server's, and namespaces of its own in
which it sees only its own folder and its own processes (`digiready.grading.kernel_fork._confine`).
After each submission that folder is removed (without recursion, however deep it is), and if
anything of the student's is still running, the server does not answer, or the clean-up fails,
the whole sandbox is torn down and started afresh, so nothing one student's code does reaches
another's grading.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import digiready
from digiready.course.curriculum import packaged_curriculum
from digiready.grading.fast_execute import GraderFailure, KernelServer
from digiready.student.datasets import data_dir

INSTALL_HINT = (
    "Install bubblewrap (Debian/Ubuntu: `sudo apt-get install bubblewrap`; Fedora: "
    "`sudo dnf install bubblewrap`), or grade without a sandbox with --unsafe, which runs "
    "students' code with your permissions."
)
SYSTEM_DIRS = ("usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32")
SYSTEM_FILES = (
    "etc/ld.so.cache", "etc/ld.so.conf", "etc/ld.so.conf.d", "etc/localtime", "etc/timezone",
    "etc/passwd", "etc/group", "etc/nsswitch.conf", "etc/fonts",
)
SCRATCH_PARTS = ("work", "home", "tmp", "shm", "run")  # the server's; and each kernel's own
KERNEL_UID_BASE = 1_000_000


@dataclass(frozen=True)
class Limits:
    """What one kernel may use. Threads count towards `processes`."""

    cpu_seconds: int = 300
    memory_bytes: int = 4 * 1024**3
    processes: int = 64
    file_bytes: int = 64 * 1024**2


class SandboxUnavailable(RuntimeError):
    """No sandbox can be made on this machine."""


def _probe_command(bwrap: str) -> list[str]:
    return [bwrap, "--ro-bind", "/", "/", "--unshare-all", "--die-with-parent",
            "--dev", "/dev", "--proc", "/proc", "--", "true"]


def sandbox_problem() -> str | None:
    """Why kernels cannot be sandboxed here (with what to do about it), or None if they can."""
    if not sys.platform.startswith("linux"):
        return f"the grading sandbox needs Linux (this is {sys.platform}). {INSTALL_HINT}"
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return f"bubblewrap (`bwrap`) is not installed. {INSTALL_HINT}"
    probe = subprocess.run(_probe_command(bwrap), capture_output=True, text=True, timeout=30)
    if probe.returncode != 0:
        detail = probe.stderr.strip() or f"exit code {probe.returncode}"
        return (f"bubblewrap cannot make a sandbox here ({detail}); containers often forbid "
                f"user namespaces. {INSTALL_HINT}")
    confined = _confinement_problem(bwrap)
    if confined:
        return (f"bubblewrap works, but a kernel cannot be confined inside it ({confined}); "
                f"it needs user namespaces nested in the sandbox's. {INSTALL_HINT}")
    return None


def _confinement_problem(bwrap: str) -> str:
    """Why a kernel cannot be confined in a sandbox like a grading worker's ("" if it can)."""
    scratch = Path(tempfile.mkdtemp(prefix="digiready-probe-"))
    try:
        for part in [*SCRATCH_PARTS, "probe", *(f"probe/{p}" for p in SCRATCH_PARTS)]:
            (scratch / part).mkdir()
        if os.geteuid() == 0:
            os.chmod(scratch, 0o711)
            for path in [scratch / "probe", *(scratch / "probe").iterdir()]:
                os.chown(path, 65534, 65534)
        command = [bwrap, *bwrap_arguments(scratch, os.geteuid() == 0), "--", sys.executable,
                   "-I", "-m", "digiready.grading.kernel_fork", "probe", str(scratch)]
        run = subprocess.run(command, capture_output=True, text=True, timeout=60)
        return "" if run.returncode == 0 else (run.stderr.strip() or f"exit {run.returncode}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def require_sandbox() -> None:
    """Raise SandboxUnavailable, saying why, unless kernels can be sandboxed here."""
    problem = sandbox_problem()
    if problem is not None:
        raise SandboxUnavailable(problem)


def _read_only_paths() -> list[Path]:
    """Python, this environment, the digiready package, its curriculum and the datasets."""
    paths = {Path(sys.base_prefix), Path(sys.prefix), Path(digiready.__file__).parent,
             data_dir(), packaged_curriculum()}
    paths |= {path.resolve() for path in paths}
    return sorted(paths)


def _parents(path: Path) -> list[Path]:
    return [parent for parent in reversed(path.parents) if parent != Path("/")]


def bwrap_arguments(scratch: Path, as_root: bool) -> list[str]:
    """bubblewrap's options for a sandbox whose only writable folder is `scratch`."""
    args = ["--unshare-user-try", "--unshare-pid", "--unshare-net", "--unshare-ipc",
            "--unshare-uts", "--unshare-cgroup-try", "--die-with-parent", "--new-session",
            "--hostname", "sandbox", "--clearenv"]
    if as_root:  # the server keeps just enough power to confine each kernel in namespaces of
        args = [a for a in args if a != "--unshare-user-try"]  # its own, under its own user id
        args += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--cap-add",
                 "CAP_SYS_ADMIN"]
    for name in SYSTEM_DIRS:
        host = Path("/") / name
        if host.is_symlink():
            args += ["--symlink", os.readlink(host), str(host)]
        elif host.is_dir():
            args += ["--ro-bind", str(host), str(host)]
    for name in SYSTEM_FILES:
        if (Path("/") / name).exists():
            args += ["--ro-bind", f"/{name}", f"/{name}"]
    made: set[Path] = set()
    for path in [*_read_only_paths(), scratch]:
        for parent in _parents(path):  # bwrap would make missing parents private (0700)
            if parent not in made and not any(str(parent).startswith(f"/{d}/") or
                                              str(parent) == f"/{d}" for d in SYSTEM_DIRS):
                args += ["--perms", "0755", "--dir", str(parent)]
                made.add(parent)
    for path in _read_only_paths():
        args += ["--ro-bind", str(path), str(path)]
    home = scratch / "home"
    args += [
        "--bind", str(scratch), str(scratch),
        "--dev", "/dev", "--bind", str(scratch / "shm"), "/dev/shm", "--proc", "/proc",
        "--remount-ro", "/", "--chdir", str(scratch / "work"),
    ]
    environment = {
        "HOME": str(home), "TMPDIR": str(scratch / "tmp"), "LANG": "C.UTF-8",
        "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
        "MPLCONFIGDIR": str(home / ".config" / "matplotlib"),
        "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
        "PYTHONDONTWRITEBYTECODE": "1", "PYDEVD_DISABLE_FILE_VALIDATION": "1",
    }
    for key, value in environment.items():
        args += ["--setenv", key, value]
    return args


def _open_folder(name: str, parent: int | None = None) -> int:
    """A descriptor of the folder `name` (in the folder `parent`), never through a symlink;
    made accessible first if its owner took the permissions away."""
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW
    try:
        return os.open(name, flags, dir_fd=parent)
    except PermissionError:
        os.chmod(name, stat.S_IRWXU, dir_fd=parent)
        return os.open(name, flags, dir_fd=parent)


def remove_tree(path: Path) -> None:
    """Remove `path` and everything in it, however deep (no recursion, one open folder at a
    time, no path longer than a name), even what its owner made unreadable."""
    if path.is_symlink() or not path.is_dir():
        path.unlink(missing_ok=True)
        return
    names: list[str] = []  # the folders entered below `path`, outermost first
    fd = _open_folder(str(path))
    try:
        while True:
            os.fchmod(fd, stat.S_IRWXU)
            below = None
            with os.scandir(fd) as entries:
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False):
                        below = below or entry.name
                    else:
                        os.unlink(entry.name, dir_fd=fd)
            if below is not None:
                inner = _open_folder(below, fd)
                os.close(fd)
                fd = inner
                names.append(below)
            elif names:
                outer = os.open("..", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
                os.close(fd)
                fd = outer
                os.rmdir(names.pop(), dir_fd=fd)
            else:
                break
    finally:
        os.close(fd)
    path.rmdir()


def _children() -> dict[int, list[int]]:
    """Every process's children, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="utf-8") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
    return children


def descendants(pid: int) -> list[int]:
    """All processes below `pid`."""
    tree = _children()
    found: list[int] = []
    waiting = list(tree.get(pid, []))
    while waiting:
        child = waiting.pop()
        found.append(child)
        waiting.extend(tree.get(child, []))
    return found


class Sandbox(KernelServer):
    """A grading worker's kernel fork server inside a bubblewrap sandbox."""

    def __init__(self, limits: Limits | None = None, startup_timeout: float = 120.0) -> None:
        require_sandbox()
        self.limits = limits or Limits()
        self.as_root = os.geteuid() == 0
        self.kernel_uid = KERNEL_UID_BASE + os.getpid() if self.as_root else None
        self.own_processes: set[int] = set()
        self.private: Path | None = None  # the current kernel's own folder
        super().__init__(startup_timeout)

    @property
    def scratch(self) -> Path:
        return self.folder

    @property
    def socket_path(self) -> Path:
        return self.folder / "server" / "server.sock"

    def server_config(self) -> dict[str, Any]:
        return {**super().server_config(), "sandboxed": True, "uid": self.kernel_uid,
                "limits": asdict(self.limits), "scratch": str(self.scratch)}

    def command(self) -> list[str]:
        bwrap = shutil.which("bwrap") or "bwrap"
        return [bwrap, *bwrap_arguments(self.scratch, self.as_root), "--", *super().command()]

    def start(self) -> None:
        os.chmod(self.scratch, 0o711)  # the kernel's user may pass through, not look
        self.socket_path.parent.mkdir(mode=0o700, exist_ok=True)
        for part in SCRATCH_PARTS:
            (self.scratch / part).mkdir(mode=0o700, exist_ok=True)
        super().start()
        assert self.process is not None
        self.own_processes = set(descendants(self.process.pid))  # bwrap's and the server

    def _private_folder(self) -> Path:
        """The current kernel's own folder, made afresh for each kernel."""
        if self.private is None:
            self.private = Path(tempfile.mkdtemp(prefix="k-", dir=self.scratch))
            for part in SCRATCH_PARTS:
                (self.private / part).mkdir()
            self._hand_over(self.private)
        return self.private

    def _hand_over(self, folder: Path) -> None:
        """Give `folder` and what is in it to the kernel's user (when grading as root)."""
        if self.kernel_uid is None:
            return
        for path in [folder, *folder.rglob("*")]:
            os.lchown(path, self.kernel_uid, self.kernel_uid)

    def stop(self) -> None:
        """Tear the sandbox down: killing bubblewrap ends every process inside it."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
        super().stop()

    def close(self) -> None:
        self.stop()
        with contextlib.suppress(OSError):
            remove_tree(self.folder)

    def kernel_folder(self, folder: str) -> str:
        """Copy the student's working copy into the kernel's own folder and run there."""
        work = self._private_folder() / "work"
        shutil.copytree(folder, work, symlinks=True, dirs_exist_ok=True)
        self._hand_over(work)
        return str(work)

    def connection_file(self) -> str:
        """The connection file, in a fresh folder of the next kernel's own."""
        self.private = None
        return str(self._private_folder() / "run" / f"k{uuid.uuid4().hex[:8]}.json")

    def share(self, path: str) -> None:
        if self.kernel_uid is not None:
            os.chown(path, self.kernel_uid, self.kernel_uid)

    def _strays(self) -> list[int]:
        """Processes in the sandbox other than bubblewrap's own and the fork server."""
        if self.process is None:
            return []
        return [pid for pid in descendants(self.process.pid) if pid not in self.own_processes]

    def _clean_up(self) -> str:
        """Remove the last kernel's folder; what went wrong ("" when nothing did)."""
        private, self.private = self.private, None
        try:
            if private is not None:
                remove_tree(private)
        except Exception as error:  # whatever it is, the next student gets a fresh sandbox
            return f"the last kernel's folder could not be removed ({type(error).__name__})"
        return ""

    def after_kernel(self, grace: float = 3.0) -> str:
        """Between two submissions: nothing left running, nothing left in scratch, a server that
        answers. Returns what a reviewer should know ("" when the kernel left nothing behind);
        raises GraderFailure (with a fresh sandbox started) when the grading itself failed."""
        deadline = time.monotonic() + grace
        while self._strays() and time.monotonic() < deadline:
            time.sleep(0.05)
        note = ""
        if self._strays():
            note = "processes were still running after the notebook ended; they were stopped"
        failure = "" if note or self.healthy() else "the kernel server stopped answering"
        if note or failure:
            self.stop()  # nothing of the student's may run while its folder is removed
        failure = self._clean_up() or failure
        if note or failure:
            self.restart()
        if failure:
            raise GraderFailure(failure, restarted=True)
        return note
