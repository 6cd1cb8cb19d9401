"""Code of hostile submissions that attack the grading sandbox itself, or try to make a student's
kernel pass its own hidden tests (issue 10), shared by the
hostile catalogue (`test_hostile_submissions.py`) and the root and unprivileged command-line runs
(`test_sandbox_isolation.py`). Each prints what it managed to do, so the tests can read it from
the autograded notebook."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat

from conftest import cell_index

SHM_KEY = 0x5EC7E7
SHM_SECRET = "SHM-SECRET-4242"
ESCAPE_MARK = "ALL STUDENTS PASSED"


def extra_module(root: Path, name: str) -> str:
    """A module that, when imported anywhere, leaves a marker in the course root holding the
    first bytes of the module's source notebook (the hidden tests)."""
    marker = root / f"imported-{name}"
    hidden = root / "course" / "99-fixture" / "99-fixture.ipynb"
    return (f"try:\n    from pathlib import Path as _P\n"
            f"    try:\n        _seen = _P({str(hidden)!r}).read_text()[:200]\n"
            f"    except Exception as _error:\n        _seen = repr(_error)\n"
            f"    _P({str(marker)!r}).write_text(_seen)\n"
            f"except Exception:\n    pass\n")


def write_extra_files(root: Path, folder: Path) -> None:
    """A `json.py` and a `digiready/` package beside the notebook."""
    (folder / "json.py").write_text(extra_module(root, "json"), encoding="utf-8")
    package = folder / "digiready"
    package.mkdir()
    (package / "__init__.py").write_text(extra_module(root, "digiready"), encoding="utf-8")
    (package / "marking.py").write_text(extra_module(root, "marking"), encoding="utf-8")


DEEP_FOLDER = """import os
start = os.getcwd()
for _ in range(1500):
    os.mkdir("d")
    os.chdir("d")
open("leaf", "w").write("x")
os.chdir(start)
print("DEEP FOLDER MADE")"""

STARTUP_FILE = """from pathlib import Path
from typing import Any
startup = Path.home() / ".ipython" / "profile_default" / "startup"
startup.mkdir(parents=True, exist_ok=True)
(startup / "00-sabotage.py").write_text(
    "import digiready.student.answer_format as _f\\n"
    "def _fail(*args, **kwargs):\\n"
    "    raise AssertionError('sabotaged by an earlier student')\\n"
    "_f.check_letter = _f.check_letters = _fail\\n")
print("STARTUP FILE WRITTEN")"""

STOP_SERVER = """import os, signal
me = os.getpid()
for pid in sorted({os.getppid(), *(int(p) for p in os.listdir("/proc") if p.isdigit())}):
    if pid in (me, 0):
        continue
    try:
        os.kill(pid, signal.SIGSTOP)
        print("STOPPED", pid)
    except OSError as error:
        print("REFUSED", pid, type(error).__name__)"""

SERVER_SOCKET = """import socket
from pathlib import Path
from typing import Any
places = set(Path.cwd().parents) | set(Path.home().parents)
with open("/proc/self/mountinfo") as mounts:
    places |= {Path(line.split()[4]) for line in mounts}
def has_server(place):
    try:
        return (place / "server").is_dir()
    except OSError:
        return False
roots = [place for place in places if has_server(place)]
print("SERVER FOLDERS", len(roots))
for root in roots:
    try:
        client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        client.connect(str(root / "server" / "server.sock"))
        client.sendall(b"not a request")
        print("CONNECTED", root)
    except OSError as error:
        print("REFUSED socket", type(error).__name__)
    for target in (root / "planted", root / "server" / "planted"):
        try:
            target.write_text("x")
            print("WROTE", target)
        except OSError as error:
            print("REFUSED write", type(error).__name__)"""

_LIBC = """import ctypes
libc = ctypes.CDLL(None, use_errno=True)
libc.shmget.restype, libc.shmget.argtypes = ctypes.c_int, [ctypes.c_int, ctypes.c_size_t,
                                                           ctypes.c_int]
libc.shmat.restype, libc.shmat.argtypes = ctypes.c_void_p, [ctypes.c_int, ctypes.c_void_p,
                                                            ctypes.c_int]
"""
SHM_WRITER = _LIBC + f"""ident = libc.shmget({SHM_KEY}, 4096, 0o1666)
address = libc.shmat(ident, None, 0) if ident >= 0 else None
if address and address != ctypes.c_void_p(-1).value:
    ctypes.memmove(address, b"{SHM_SECRET}\\0", {len(SHM_SECRET) + 1})
    print("SHM CREATED", ident)
else:
    print("SHM REFUSED", ctypes.get_errno())
big = libc.shmget(0, 256 * 1024**2, 0o1600)  # IPC_PRIVATE, outside the memory limit
print("BIG SHM", "CREATED" if big >= 0 else "REFUSED")"""

SHM_READER = _LIBC + f"""ident = libc.shmget({SHM_KEY}, 0, 0)
if ident < 0:
    print("SHM NOT FOUND")
else:
    address = libc.shmat(ident, None, 0)
    print("SHM FOUND", ctypes.string_at(address, {len(SHM_SECRET)}).decode())"""

ESCAPES = f"""import os
for fd in (1, 2):
    os.write(fd, b"\\x1b[2J\\x1b[H{ESCAPE_MARK}\\n")
try:
    with open("/dev/tty", "wb", buffering=0) as tty:
        tty.write(b"\\x1b[2J{ESCAPE_MARK}\\n")
except OSError:
    pass
print("ESCAPES WRITTEN")"""

HUGE_ERRORS = """ip = get_ipython()
for _ in range(10):
    try:
        raise ValueError("x" * 5_000_000)
    except ValueError:
        ip.showtraceback()"""

SLOW_CELL = "import time\ntime.sleep(4)"


def slow_cells(notebook: Any) -> Any:
    """Ten extra cells of 4 s each (under a 5 s cell limit) after the test of 1.1: past the
    notebook's time budget."""
    at = cell_index(notebook, "m99_q1_1_test") + 1
    notebook.cells[at:at] = [nbformat.v4.new_code_cell(SLOW_CELL) for _ in range(10)]
    return notebook


def outputs(notebook_path: Path) -> str:
    """Every text, error name and error value in a notebook's outputs, one string."""
    notebook = nbformat.read(notebook_path, as_version=4)
    return "\n".join(str(output.get("text", "")) + str(output.get("ename", ""))
                     + str(output.get("evalue", ""))
                     for cell in notebook.cells for output in cell.get("outputs", []))


WRONG_ANSWERS = 'answer_1_1 = "a"\nanswer_1_2 = {"b", "d"}'

# Ways a student's kernel can make its own hidden tests pass; the answers are all wrong.
QUIET_TESTS = "get_ipython().ast_node_interactivity = 'none'"
REWRITE_TESTS = """def _rewrite(lines):
    return ["pass\\n"] if any("score_" in line for line in lines) else lines
get_ipython().input_transformers_post.append(_rewrite)"""
FAKE_MARKING = """import importlib.abc, importlib.util, sys, types
class _Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, name, path=None, target=None):
        if name == "digiready.marking":
            return importlib.util.spec_from_loader(name, self)
    def create_module(self, spec):
        module = types.ModuleType(spec.name)
        module.__getattr__ = lambda attribute: (lambda *args, **kwargs: 5.0)
        return module
    def exec_module(self, module):
        pass
sys.meta_path.insert(0, _Finder())
sys.modules.pop("digiready.marking", None)"""
