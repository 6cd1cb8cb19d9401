"""Fresh Jupyter kernels forked from a process that has already imported the heavy modules.

`serve` runs in the background of a grading worker: it imports pandas, matplotlib, ipywidgets
and digiready once, then waits on a Unix socket. For each kernel, the kernel manager starts a
tiny `launch` process (stdlib only) in the notebook's folder; it asks the server to fork. The
forked child takes the launcher's folder, environment and standard streams and becomes an
ordinary IPython kernel, so every submission still gets its own fresh process. The launcher
stands in for the kernel towards the kernel manager: it forwards interrupt and terminate signals,
and when it is killed the child notices (its pipe closes) and exits.

Only the standard library is imported at module level, so `launch` starts in milliseconds.
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import socket
import sys
import threading
import time
from typing import Any

FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
MPL_INLINE = "module://matplotlib_inline.backend_inline"


def _exit_when_closed(fd: int) -> None:
    """Block until the launcher's end of the pipe closes, then end this kernel at once."""
    while os.read(fd, 1):
        pass
    os._exit(1)


def _exit_when_stdin_closes() -> None:
    sys.stdin.read()
    os._exit(0)


def _become_kernel(request: dict[str, Any], fds: list[int]) -> None:
    """In the forked child: adopt the launcher's world, then run IPython's kernel app."""
    death_pipe, stdout, stderr = fds
    os.setsid()
    os.dup2(stdout, 1)
    os.dup2(stderr, 2)
    os.environ.clear()
    os.environ.update({str(key): str(value) for key, value in request["env"].items()})
    cwd = str(request["cwd"])
    os.chdir(cwd)
    sys.path[0] = cwd
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    threading.Thread(target=_exit_when_closed, args=(death_pipe,), daemon=True).start()
    from ipykernel.kernelapp import IPKernelApp

    argv = [str(arg) for arg in request["argv"]]
    parent = os.environ.get("JPY_PARENT_PID")
    if parent:  # ipykernel read this when the server imported it, so say it again here
        argv.append(f"--IPKernelApp.parent_handle={parent}")
    sys.argv = ["ipykernel_launcher", *argv]
    IPKernelApp.launch_instance(argv=argv)
    os._exit(0)


def serve(socket_path: str, preload: list[str]) -> None:
    """Import `preload`, then fork one kernel per request until stdin closes."""
    os.environ.setdefault("MPLBACKEND", MPL_INLINE)
    for name in ["ipykernel.kernelapp", *preload]:
        importlib.import_module(name)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped automatically
    threading.Thread(target=_exit_when_stdin_closes, daemon=True).start()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(socket_path + ".tmp")
    listener.listen(16)
    os.rename(socket_path + ".tmp", socket_path)  # the socket appears only once ready
    while True:
        connection, _ = listener.accept()
        message, fds, _, _ = socket.recv_fds(connection, 1 << 20, 3)
        pid = os.fork()
        if pid == 0:
            listener.close()
            connection.close()
            _become_kernel(json.loads(message), fds)
        for fd in fds:
            os.close(fd)
        connection.sendall(json.dumps({"pid": pid}).encode())
        connection.close()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def launch(socket_path: str, argv: list[str]) -> int:
    """Ask the server for a kernel running `argv` here; stand in for it until it exits."""
    read_end, write_end = os.pipe()
    request = {"argv": argv, "cwd": os.getcwd(), "env": dict(os.environ)}
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
        client.connect(socket_path)
        socket.send_fds(client, [json.dumps(request).encode()], [read_end, 1, 2])
        os.close(read_end)
        pid = int(json.loads(client.recv(4096))["pid"])
    for signum in FORWARDED:
        signal.signal(signum, lambda received, _frame: os.kill(pid, received))
    while _alive(pid):
        time.sleep(0.05)
    os.close(write_end)
    return 0


def main(args: list[str]) -> int:
    """`serve SOCKET MODULE...` or `launch SOCKET -- KERNEL ARGS...`."""
    if len(args) >= 2 and args[0] == "serve":
        serve(args[1], args[2:])
        return 0
    if len(args) >= 3 and args[0] == "launch" and args[2] == "--":
        return launch(args[1], args[3:])
    print("usage: python -m digiready.kernel_fork serve SOCKET [MODULE...] | "
          "launch SOCKET -- KERNEL-ARGS...", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
