"""nbgrader's Execute preprocessor, with kernels forked from a pre-imported server.

`digiready grade` swaps `Execute` for `ForkedExecute` in the autograde pipeline of its workers;
plain `nbgrader autograde` is unchanged. Everything else (cell execution, timeouts, interrupts,
error recording) is nbgrader's and nbclient's own code.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from jupyter_client.manager import AsyncKernelManager
from nbgrader.preprocessors import Execute

SOCKET_ENV = "DIGIREADY_KERNEL_SERVER"
PRELOAD = [
    "numpy", "pandas", "matplotlib.pyplot", "ipywidgets", "pydantic", "yaml", "markdown_it",
    "digiready.answer_format", "digiready.marking", "digiready.practice",
    "digiready.scenario_view", "digiready.datasets", "digiready.charts", "digiready.self_audit",
]


class ForkedKernelManager(AsyncKernelManager):
    """Starts `python -m digiready.kernel_fork launch` instead of `ipykernel_launcher`."""

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        command: list[str] = super().format_kernel_cmd(extra_arguments)
        if "ipykernel_launcher" not in command or SOCKET_ENV not in os.environ:
            return command
        kernel_args = command[command.index("ipykernel_launcher") + 1 :]
        server = os.environ[SOCKET_ENV]
        return [sys.executable, "-m", "digiready.kernel_fork", "launch", server, "--", *kernel_args]


class ForkedExecute(Execute):  # type: ignore[misc]
    """Execute, with its kernels from the fork server."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("kernel_manager_class", ForkedKernelManager)
        super().__init__(*args, **kwargs)


class KernelServer:
    """The fork server of one grading worker; it ends when the worker does."""

    def __init__(self, startup_timeout: float = 120.0) -> None:
        self.folder = tempfile.mkdtemp(prefix="digiready-kernels-")
        self.socket_path = str(Path(self.folder) / "server.sock")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "digiready.kernel_fork", "serve", self.socket_path, *PRELOAD],
            stdin=subprocess.PIPE,
        )
        deadline = time.monotonic() + startup_timeout
        while not os.path.exists(self.socket_path):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the kernel fork server did not start")
            time.sleep(0.05)
        os.environ[SOCKET_ENV] = self.socket_path

    def close(self) -> None:
        """Stop the server (it exits when its stdin closes) and remove its socket folder."""
        os.environ.pop(SOCKET_ENV, None)
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait(timeout=10)
        shutil.rmtree(self.folder, ignore_errors=True)
