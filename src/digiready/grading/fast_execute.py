"""nbgrader's Execute preprocessor, with kernels forked from a pre-imported server.

`digiready grade` swaps `Execute` for `ForkedExecute` in the autograde pipeline of its workers;
plain `nbgrader autograde` is unchanged. Cell execution, timeouts, interrupts and error
recording are nbgrader's and nbclient's own code; `ForkedExecute` adds what a hostile or broken
submission needs: a kernel that dies or stops answering ends the notebook (the cells not run
get an error, so their tests fail rather than pass), a cell's output is capped (errors too, down
to their type and the end of their traceback), and a notebook that runs past its time budget is
stopped.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from queue import Empty
from typing import Any

import zmq
import zmq.asyncio
from jupyter_client.asynchronous.client import AsyncKernelClient
from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import run_sync
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat import NotebookNode
from nbgrader.preprocessors import Execute
from traitlets import Float, Integer, default

from digiready.grading.kernel_fork import ping, request_kernel

PRELOAD = [
    "numpy", "pandas", "matplotlib.pyplot", "ipywidgets", "pydantic", "yaml", "markdown_it",
    "digiready.marking", "digiready.student", "digiready.grading.answer_eval",
    # what every IPython kernel imports as it starts (its debugger, history, completer)
    "ipykernel.ipkernel", "ipykernel.debugger", "IPython.core.completerlib",
    "IPython.core.debugger", "sqlite3", "tornado.queues", "psutil",
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
OVER_BUDGET = (
    "The notebook ran past the notebook's time budget ({budget:g} s), so the kernel was "
    "stopped and this cell and the ones after it were not run."
)
IOPUB_WAIT = 0.2  # jupyter_client's: how long IOPub may stay silent while a kernel starts
IOPUB_FIRST_WAIT = 0.02  # how long to wait for IOPub's first message before asking again
QUICK_TRIES = 25  # kernel_info requests answered without IOPub before jupyter_client's rule
SHUTDOWN_POLL = 0.01  # seconds between checks that a stopping kernel has ended
RECONNECT_MS = 5  # how soon a socket tries again to reach a kernel not yet listening
ERROR_TEXT_KEPT = 2_000  # characters of an error's value and of its traceback, past the cap
NEUTRAL_FOLDER = "/"  # where the kernel server starts: nothing of a student's is there


class GraderFailure(RuntimeError):
    """The grading machinery failed (not the submission): grade this student again.
    `restarted`: the kernel server has already been restarted afresh."""

    def __init__(self, reason: str, restarted: bool = False) -> None:
        super().__init__(reason)
        self.restarted = restarted


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
        """The server, in Python's isolated mode (`-I`: no current folder on its path)."""
        return [sys.executable, "-I", "-m", "digiready.grading.kernel_fork", "serve",
                str(self.socket_path), json.dumps(self.server_config())]

    def start(self) -> None:
        """Start the server and wait until its socket exists."""
        self.socket_path.unlink(missing_ok=True)
        self.process = subprocess.Popen(self.command(), stdin=subprocess.PIPE,
                                        start_new_session=True, cwd=NEUTRAL_FOLDER)
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
        nothing of any student's (see `digiready.grading.answer_eval`); encoded results by key.
        If no reply comes, the server is restarted and each answer gets an error."""
        request = json.dumps(
            {"kind": "evaluate", "evaluate": expressions, "tables": tables}
        ).encode()
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
            self.restart()
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

    def healthy(self) -> bool:
        """Whether the server is running and answers a ping (a stopped one does not)."""
        if self.process is None or self.process.poll() is not None:
            return False
        return ping(str(self.socket_path))

    def restart(self) -> None:
        """Stop the server and start a fresh one; GraderFailure if it cannot start."""
        self.stop()
        try:
            self.start()
        except Exception as error:
            raise GraderFailure(f"the kernel server could not be restarted: {error}") from error

    def after_kernel(self) -> str:
        """Between two submissions: check that the server still answers. Returns what a
        reviewer should know ("" when nothing happened); raises GraderFailure (after restarting
        the server) when the server failed, so that the submission is graded again."""
        if not self.healthy():
            self.restart()
            raise GraderFailure("the kernel server stopped answering", restarted=True)
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


class PromptKernelClient(AsyncKernelClient):
    """jupyter_client's kernel client, ready as soon as the kernel has answered kernel_info and
    IOPub has shown it idle after that request, instead of after IOPub has been silent for
    0.2 s. As in jupyter_client, the kernel is asked again until IOPub delivers the request's
    messages (so no output of the first cell can be missed), but after 0.02 s of waiting for
    them instead of 0.2 s: IOPub's subscription often connects just after the first request.
    After QUICK_TRIES requests, jupyter_client's own rule ends the wait (any message, then 0.2 s
    of silence)."""

    @default("context")
    def _context_default(self) -> zmq.asyncio.Context:
        """The client's own ZeroMQ context (as jupyter_client makes one), whose sockets retry a
        refused connection every RECONNECT_MS instead of every 100 ms: the client connects
        while the kernel is still starting, so its first kernel_info, and IOPub's
        subscription, waited up to 0.1 s each for the next try."""
        context: zmq.asyncio.Context = super()._context_default()
        context.setsockopt(zmq.RECONNECT_IVL, RECONNECT_MS)
        return context

    async def wait_for_ready(self, timeout: float | None = None) -> None:
        deadline = time.monotonic() + (math.inf if timeout is None else timeout)
        tries = 0
        while True:
            tries += 1
            request = self.kernel_info()
            try:
                reply = await self.shell_channel.get_msg(timeout=1)
            except Empty:
                reply = None
            if reply is not None and reply["msg_type"] == "kernel_info_reply" and \
                    await self._idle_after(request, patient=tries > QUICK_TRIES):
                self._handle_kernel_info_reply(reply)
                return
            if not await self._async_is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout} seconds")

    async def _idle_after(self, request: str, patient: bool) -> bool:
        """Read IOPub until the kernel says it is idle after `request` (True). Silence ends
        the wait: True once the request's own messages (or, `patient`, any) have come."""
        heard = False
        while True:
            try:
                wait = IOPUB_WAIT if heard else IOPUB_FIRST_WAIT
                message = await self.iopub_channel.get_msg(timeout=wait)
            except Empty:
                return heard
            ours = message["parent_header"].get("msg_id") == request
            heard = heard or ours or patient
            if ours and message["msg_type"] == "status" and \
                    message["content"].get("execution_state") == "idle":
                return True


class ForkedKernel:
    """A kernel forked by the server, where jupyter_client keeps its kernel's `Popen`: it is
    polled, awaited and signalled through a pidfd (so never a process that took its id after it
    ended), and it ends as soon as its lifeline is closed. It is not this process's child, so its
    exit status is unknown: 0 once it has ended."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int, lifeline: int) -> None:
        self.pid = pid
        self.returncode: int | None = None
        self._lifeline = lifeline
        try:
            self._pidfd = os.pidfd_open(pid)
        except OSError:
            os.close(lifeline)
            raise

    def poll(self) -> int | None:
        return self.wait(timeout=0) if self.returncode is None else self.returncode

    def wait(self, timeout: float | None = None) -> int | None:
        """The exit status once the kernel has ended; None if it still runs after `timeout`."""
        if self.returncode is None and select.select([self._pidfd], [], [], timeout)[0]:
            self.returncode = 0
            os.close(self._pidfd)
            os.close(self._lifeline)
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.returncode is None:
            with contextlib.suppress(ProcessLookupError):  # it has just ended
                signal.pidfd_send_signal(self._pidfd, signum)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


class ForkedKernelManager(AsyncKernelManager):
    """Has the fork server fork each IPython kernel (a ForkedKernel) instead of starting
    `ipykernel_launcher`; its client is a PromptKernelClient, and a stopping kernel is checked
    every SHUTDOWN_POLL seconds instead of every 0.1 s."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("client_class", f"{__name__}.PromptKernelClient")
        server = active_server()
        connection_file = server.connection_file() if server is not None else None
        if connection_file is not None:  # a sandbox has no network: Unix sockets instead
            kwargs.update(transport="ipc", connection_file=connection_file)
        super().__init__(**kwargs)
        self.kernel_cwd = ""

    async def _async_finish_shutdown(
        self, waittime: float | None = None, pollinterval: float = 0.1, restart: bool = False
    ) -> None:
        await super()._async_finish_shutdown(waittime, min(pollinterval, SHUTDOWN_POLL), restart)

    async def _async_pre_start_kernel(self, **kw: Any) -> tuple[list[str], dict[str, Any]]:
        server = active_server()
        if server is not None:
            self.kernel_cwd = server.kernel_folder(str(kw.get("cwd") or os.getcwd()))
            kw["cwd"] = self.kernel_cwd
        return await super()._async_pre_start_kernel(**kw)

    def write_connection_file(self, **kwargs: Any) -> None:
        super().write_connection_file(**kwargs)
        server = active_server()
        if server is not None:
            server.share(self.connection_file)

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
        """The kernel forked by the server, with the arguments and environment jupyter_client
        made for `ipykernel_launcher` (any other kernel is started by jupyter_client)."""
        server = active_server()
        if "ipykernel_launcher" not in kernel_cmd or server is None:
            await super()._async_launch_kernel(kernel_cmd, **kw)
            return
        arguments = kernel_cmd[kernel_cmd.index("ipykernel_launcher") + 1 :]
        environment = dict(kw.get("env") or os.environ)
        pid, lifeline = request_kernel(str(server.socket_path), self.kernel_cwd, arguments,
                                       environment)
        provisioner: Any = self.provisioner
        provisioner.process = ForkedKernel(pid, lifeline)
        provisioner.pid, provisioner.pgid = pid, None  # signals go to the kernel alone
        self._reconcile_connection_info(provisioner.connection_info)


def _error_output(message: str) -> NotebookNode:
    return NotebookNode(output_type="error", ename="GradingStopped", evalue=message,
                        traceback=[message])


def _cut(text: str, keep: int, end: bool = False) -> str:
    """`text`, or its first (or last) `keep` characters with a note of the cut."""
    if len(text) <= keep:
        return text
    note = f"[output cut: over {keep:,} characters]"
    return f"{note}\n{text[-keep:]}" if end else f"{text[:keep]}\n{note}"


def capped_error(content: dict[str, Any]) -> dict[str, Any]:
    """An error message's content cut down: its type kept, its value and the end of its
    traceback (where the error is) kept to a few thousand characters."""
    traceback = "\n".join(str(line) for line in content.get("traceback", []))
    return {**content, "ename": _cut(str(content.get("ename", "")), 200),
            "evalue": _cut(str(content.get("evalue", "")), ERROR_TEXT_KEPT),
            "traceback": [_cut(traceback, ERROR_TEXT_KEPT, end=True)]}


class ForkedExecute(Execute):  # type: ignore[misc]
    """Execute, with kernels from the fork server, a cap on output, a time budget per notebook,
    and no way for a dead or stuck kernel to stop the grading or to leave later cells looking
    passed."""

    max_output_bytes = Integer(
        1_000_000, help="Largest output kept for one cell; the rest is replaced by a note."
    ).tag(config=True)
    notebook_budget = Float(
        30.0, help="Seconds the cells of one notebook may run in all (about ten times a "
        "module's Run All); past it the kernel is stopped and the notebook flagged."
    ).tag(config=True)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("kernel_manager_class", ForkedKernelManager)
        super().__init__(*args, **kwargs)
        self.stopped_reason = ""
        self._output_bytes: dict[int, int] = {}
        self._deadline: float | None = None

    def preprocess(self, nb: NotebookNode, resources: Any, km: Any = None) -> Any:
        self.stopped_reason = ""
        self._output_bytes = {}
        self._deadline = None
        return super().preprocess(nb, resources, km)

    def _over_budget(self) -> bool:
        """Whether the notebook's time budget is spent (it starts with the first code cell)."""
        if self._deadline is None:
            self._deadline = time.monotonic() + self.notebook_budget
        return time.monotonic() >= self._deadline

    def _get_timeout(self, cell: NotebookNode | None) -> int | None:
        """The cell's own time limit, but never past the notebook's budget."""
        timeout: int | None = super()._get_timeout(cell)
        if self._deadline is None:
            return timeout
        left = max(1, math.ceil(self._deadline - time.monotonic()))
        return left if timeout is None else min(timeout, left)

    def preprocess_cell(self, cell: NotebookNode, resources: Any, index: int) -> Any:
        if cell.cell_type != "code":
            return cell, resources
        if self.stopped_reason:
            cell.outputs = [_error_output(NOT_RUN)]
            return cell, resources
        if self._over_budget():
            self.stopped_reason = OVER_BUDGET.format(budget=self.notebook_budget)
            self._stop_kernel()
            cell.outputs = [_error_output(self.stopped_reason)]
            return cell, resources
        try:
            result = super().preprocess_cell(cell, resources, index)
        except DeadKernelError:
            self.stopped_reason = KERNEL_STOPPED
        except CellTimeoutError:
            self.stopped_reason = KERNEL_UNRESPONSIVE  # nbclient's clean-up kills it
        else:
            self._cut_at_budget(cell)
            return result
        cell.outputs.append(_error_output(self.stopped_reason))
        return cell, resources

    def _cut_at_budget(self, cell: NotebookNode) -> None:
        """If the cell was interrupted because the notebook's budget ran out (not its own time
        limit), say so in place of the timeout, and stop the kernel."""
        if self._deadline is None or time.monotonic() < self._deadline:
            return
        timed_out = [o for o in cell.outputs if o.get("ename") == "CellTimeoutError"]
        if not timed_out:
            return
        self.stopped_reason = OVER_BUDGET.format(budget=self.notebook_budget)
        cell.outputs = [o for o in cell.outputs if o not in timed_out]
        cell.outputs.append(_error_output(self.stopped_reason))
        self._stop_kernel()

    def _stop_kernel(self) -> None:
        """Stop the kernel now (the notebook will run no more cells)."""
        if self.km is not None:
            with contextlib.suppress(Exception):  # nbclient's clean-up tries again anyway
                run_sync(self.km.shutdown_kernel)(now=True)

    def output(self, outs: list[NotebookNode], msg: dict[str, Any], display_id: str | None,
               cell_index: int) -> NotebookNode | None:
        size = len(str(msg.get("content", "")))
        used = self._output_bytes.get(cell_index, 0)
        self._output_bytes[cell_index] = used + size
        if used + size <= self.max_output_bytes:
            kept: NotebookNode | None = super().output(outs, msg, display_id, cell_index)
            return kept
        if used <= self.max_output_bytes:
            note = NotebookNode(output_type="stream", name="stderr",
                                text=f"[output cut: over {self.max_output_bytes:,} bytes]\n")
            outs.append(note)
        # a test's failure (an error) must never be dropped: tests pass when no error shows.
        # One error, cut down, is enough to fail the cell; more add nothing.
        if msg["msg_type"] == "error" and not any(o.output_type == "error" for o in outs):
            cut = {**msg, "content": capped_error(msg.get("content", {}))}
            kept = super().output(outs, cut, display_id, cell_index)
            return kept
        return None
