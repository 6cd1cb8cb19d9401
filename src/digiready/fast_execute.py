"""nbgrader's Execute preprocessor, with kernels forked from a pre-imported server.

`digiready grade` swaps `Execute` for `ForkedExecute` in the autograde pipeline of its workers;
plain `nbgrader autograde` is unchanged. Cell execution, timeouts, interrupts and error
recording are nbgrader's and nbclient's own code; `ForkedExecute` adds what a hostile or broken
submission needs: a kernel that dies or stops answering ends the notebook (the cells not run
get an error, so their tests fail rather than pass), and a cell's output is capped.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from jupyter_client.manager import AsyncKernelManager
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat import NotebookNode
from nbgrader.preprocessors import Execute
from traitlets import Integer

PRELOAD = [
    "numpy", "pandas", "matplotlib.pyplot", "ipywidgets", "pydantic", "yaml", "markdown_it",
    "digiready.answer_format", "digiready.marking", "digiready.practice",
    "digiready.scenario_view", "digiready.datasets", "digiready.charts", "digiready.self_audit",
    "digiready.answer_eval",
]
MAX_REPLY_BYTES = 16_000_000
KERNEL_STOPPED = (
    "The kernel stopped while this cell ran (did the code exit Python, crash it, or run out "
    "of memory?), so this cell and the ones after it were not run."
)
NOT_RUN = "Not run: an earlier cell stopped the kernel."
KERNEL_UNRESPONSIVE = (
    "This cell was still running when the time ran out and did not stop when interrupted, so "
    "the kernel was stopped and the cells after it were not run."
)


class KernelServer:
    """The fork server of one grading worker, without a sandbox: kernels run as the grader."""

    def __init__(self, startup_timeout: float = 120.0) -> None:
        self.startup_timeout = startup_timeout
        self.folder = Path(tempfile.mkdtemp(prefix="digiready-kernels-"))
        self.process: subprocess.Popen[bytes] | None = None
        self.start()

    @property
    def socket_path(self) -> Path:
        return self.folder / "server.sock"

    def server_config(self) -> dict[str, Any]:
        """What `kernel_fork.serve` is told: the modules to preload, limits, user id."""
        return {"preload": PRELOAD}

    def command(self) -> list[str]:
        return [sys.executable, "-m", "digiready.kernel_fork", "serve", str(self.socket_path),
                json.dumps(self.server_config())]

    def start(self) -> None:
        """Start the server and wait until its socket exists."""
        self.socket_path.unlink(missing_ok=True)
        self.process = subprocess.Popen(self.command(), stdin=subprocess.PIPE,
                                        start_new_session=True)
        deadline = time.monotonic() + self.startup_timeout
        while not self.socket_path.exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the kernel fork server did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        """Stop the server: it exits when its stdin closes; killed if it does not."""
        if self.process is None:
            return
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def evaluate(
        self, expressions: dict[str, str], tables: dict[str, str], timeout: float = 60.0
    ) -> dict[str, Any]:
        """Students' answer expressions evaluated in a fresh child of the server, which has run
        nothing of any student's (see `digiready.answer_eval`); encoded results by key. If no
        reply comes, the server is restarted and each answer gets an error."""
        request = json.dumps({"evaluate": expressions, "tables": tables}).encode()
        reply = bytearray()
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
                client.settimeout(timeout)
                client.connect(str(self.socket_path))
                client.sendall(request)
                while chunk := client.recv(1 << 16):
                    reply += chunk
                    if len(reply) > MAX_REPLY_BYTES:
                        raise ValueError("the reply is too large")
            answers = json.loads(reply)
            if not isinstance(answers, dict):
                raise ValueError("the reply is not a JSON object")
            return answers
        except (OSError, ValueError) as error:
            self.stop()
            self.start()
            failed = {"t": "error", "v": f"the grader could not evaluate it ({error})"}
            return {key: failed for key in expressions}

    def kernel_folder(self, folder: str) -> str:
        """Where the kernel for a notebook in `folder` runs: right there."""
        return folder

    def connection_file(self) -> str | None:
        """Where kernel connection files go (None: Jupyter's runtime folder, over TCP)."""
        return None

    def share(self, path: str) -> None:
        """Let the kernel read a file the grader wrote for it."""

    def after_kernel(self) -> str:
        """Between two submissions: restart the server if a kernel brought it down.
        Returns what a reviewer should know ("" when nothing happened)."""
        if self.process is None or self.process.poll() is not None:
            self.stop()
            self.start()
            return "the student's code stopped the kernel server; it was restarted"
        return ""

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


_ACTIVE: list[KernelServer] = []


def use_server(server: KernelServer) -> None:
    """Make `server` the one this process's forked kernels come from."""
    _ACTIVE[:] = [server]


def active_server() -> KernelServer | None:
    return _ACTIVE[0] if _ACTIVE else None


class ForkedKernelManager(AsyncKernelManager):
    """Starts `python -m digiready.kernel_fork launch` instead of `ipykernel_launcher`."""

    def __init__(self, **kwargs: Any) -> None:
        server = active_server()
        connection_file = server.connection_file() if server is not None else None
        if connection_file is not None:  # a sandbox has no network: Unix sockets instead
            kwargs.update(transport="ipc", connection_file=connection_file)
        super().__init__(**kwargs)

    async def _async_pre_start_kernel(self, **kw: Any) -> tuple[list[str], dict[str, Any]]:
        server = active_server()
        if server is not None:
            kw["cwd"] = server.kernel_folder(str(kw.get("cwd") or os.getcwd()))
        result: tuple[list[str], dict[str, Any]] = await super()._async_pre_start_kernel(**kw)
        return result

    def write_connection_file(self, **kwargs: Any) -> None:
        super().write_connection_file(**kwargs)
        server = active_server()
        if server is not None:
            server.share(self.connection_file)

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        command: list[str] = super().format_kernel_cmd(extra_arguments)
        server = active_server()
        if "ipykernel_launcher" not in command or server is None:
            return command
        kernel_args = command[command.index("ipykernel_launcher") + 1 :]
        return [sys.executable, "-m", "digiready.kernel_fork", "launch", str(server.socket_path),
                "--", *kernel_args]


def _error_output(message: str) -> NotebookNode:
    return NotebookNode(output_type="error", ename="GradingStopped", evalue=message,
                        traceback=[message])


class ForkedExecute(Execute):  # type: ignore[misc]
    """Execute, with kernels from the fork server, a cap on output, and no way for a dead or
    stuck kernel to stop the grading or to leave later cells looking passed."""

    max_output_bytes = Integer(
        1_000_000, help="Largest output kept for one cell; the rest is replaced by a note."
    ).tag(config=True)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("kernel_manager_class", ForkedKernelManager)
        super().__init__(*args, **kwargs)
        self.stopped_reason = ""
        self._output_bytes: dict[int, int] = {}

    def preprocess(self, nb: NotebookNode, resources: Any, km: Any = None) -> Any:
        self.stopped_reason = ""
        self._output_bytes = {}
        return super().preprocess(nb, resources, km)

    def preprocess_cell(self, cell: NotebookNode, resources: Any, index: int) -> Any:
        if cell.cell_type != "code":
            return cell, resources
        if self.stopped_reason:
            cell.outputs = [_error_output(NOT_RUN)]
            return cell, resources
        try:
            return super().preprocess_cell(cell, resources, index)
        except DeadKernelError:
            self.stopped_reason = KERNEL_STOPPED
        except CellTimeoutError:
            self.stopped_reason = KERNEL_UNRESPONSIVE  # nbclient's clean-up kills it
        cell.outputs.append(_error_output(self.stopped_reason))
        return cell, resources

    def output(self, outs: list[NotebookNode], msg: dict[str, Any], display_id: str | None,
               cell_index: int) -> NotebookNode | None:
        size = len(str(msg.get("content", "")))
        used = self._output_bytes.get(cell_index, 0)
        self._output_bytes[cell_index] = used + size
        # a test's failure (an error) must never be dropped: tests pass when no error shows
        if used + size <= self.max_output_bytes or msg["msg_type"] == "error":
            kept: NotebookNode | None = super().output(outs, msg, display_id, cell_index)
            return kept
        if used <= self.max_output_bytes:
            note = NotebookNode(output_type="stream", name="stderr",
                                text=f"[output cut: over {self.max_output_bytes:,} bytes]\n")
            outs.append(note)
        return None
