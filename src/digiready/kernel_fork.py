"""Fresh Jupyter kernels forked from a process that has already imported the heavy modules.

`serve` runs in the background of a grading worker (inside its sandbox, see
`digiready.sandbox`): it imports pandas, matplotlib, ipywidgets and digiready once, then waits on
a Unix socket. For each kernel, the kernel manager starts a tiny `launch` process (stdlib only)
in the kernel's folder; it asks the server to fork. The forked child takes the launcher's folder
and standard streams, applies the resource limits and the unprivileged user id the server was
given, and becomes an ordinary IPython kernel, so every submission gets its own fresh process.
The launcher stands in for the kernel towards the kernel manager: it forwards interrupt and
terminate signals, and when it is killed the child notices (its pipe closes) and exits. The
child announces itself to the launcher with its credentials, so the launcher learns its process
id as seen from outside the sandbox's process namespace.

Only the standard library is imported at module level, so `launch` starts in milliseconds.
"""

from __future__ import annotations

import ctypes
import importlib
import json
import os
import resource
import signal
import socket
import struct
import sys
import threading
import time
from typing import Any

FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
MPL_INLINE = "module://matplotlib_inline.backend_inline"
PR_SET_DUMPABLE = 4
LIMITS = {
    "cpu_seconds": resource.RLIMIT_CPU,
    "memory_bytes": resource.RLIMIT_AS,
    "processes": resource.RLIMIT_NPROC,
    "file_bytes": resource.RLIMIT_FSIZE,
}
# What a kernel inside the sandbox may take from the grader's environment: nbgrader's and
# Jupyter's own variables. Everything else (HOME, PATH, tokens...) is the sandbox's.
PASSED_ENV_PREFIXES = ("JPY_", "NBGRADER_")
CREDENTIALS = struct.Struct("3i")  # struct ucred: pid, uid, gid
EVALUATE_SECONDS = 30  # an answer expression that runs longer is stopped


def _exit_when_closed(fd: int) -> None:
    """Block until the launcher's end of the pipe closes, then end this kernel at once."""
    while os.read(fd, 1):
        pass
    os._exit(1)


def _exit_when_stdin_closes() -> None:
    sys.stdin.read()
    os._exit(0)


def _kernel_environment(config: dict[str, Any], requested: dict[str, str]) -> dict[str, str]:
    if not config.get("sandboxed"):
        return requested
    passed = {k: v for k, v in requested.items() if k.startswith(PASSED_ENV_PREFIXES)}
    return {**config["base_env"], **passed}


def _confine(config: dict[str, Any]) -> None:
    """Apply the resource limits, then give up root for the kernel's own user id (if any)."""
    for name, limit in config.get("limits", {}).items():
        resource.setrlimit(LIMITS[name], (int(limit), int(limit)))
    uid = config.get("uid")
    if uid is not None:
        os.setgroups([])
        os.setgid(int(uid))
        os.setuid(int(uid))


def _become_kernel(
    config: dict[str, Any], request: dict[str, Any], fds: list[int], connection: socket.socket
) -> None:
    """In the forked child: adopt the launcher's world, then run IPython's kernel app."""
    death_pipe, stdout, stderr = fds
    os.setsid()
    os.dup2(stdout, 1)
    os.dup2(stderr, 2)
    environment = _kernel_environment(config, request["env"])
    os.environ.clear()
    os.environ.update({str(key): str(value) for key, value in environment.items()})
    cwd = str(request["cwd"])
    os.chdir(cwd)
    sys.path[0] = cwd
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    _confine(config)
    connection.sendall(b"ready")  # carries this process's credentials to the launcher
    connection.close()
    threading.Thread(target=_exit_when_closed, args=(death_pipe,), daemon=True).start()
    from ipykernel.kernelapp import IPKernelApp

    argv = [str(arg) for arg in request["argv"]]
    parent = os.environ.get("JPY_PARENT_PID")
    if parent:  # ipykernel read this when the server imported it, so say it again here
        argv.append(f"--IPKernelApp.parent_handle={parent}")
    sys.argv = ["ipykernel_launcher", *argv]
    IPKernelApp.launch_instance(argv=argv)
    os._exit(0)


def _evaluate(config: dict[str, Any], request: dict[str, Any], connection: socket.socket) -> None:
    """In a forked child that ran nothing of any student's: confine it like a kernel, evaluate
    the answer expressions on fresh datasets (`digiready.answer_eval`), reply in JSON, exit."""
    try:
        os.setsid()
        os.chdir("/")
        sys.path[:] = [path for path in sys.path if path not in ("", ".")]
        _confine(config)
        signal.alarm(int(request.get("seconds", EVALUATE_SECONDS)))
        from digiready.answer_eval import evaluate_all

        reply = evaluate_all(dict(request["evaluate"]), dict(request["tables"]))
        connection.sendall(json.dumps(reply).encode())
    finally:
        os._exit(0)


def _not_dumpable() -> None:
    """Forbid other processes of the same user (the kernels) to trace this one."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)


def serve(socket_path: str, config: dict[str, Any]) -> None:
    """Import the preload modules, then fork one kernel per request until stdin closes."""
    os.environ.setdefault("MPLBACKEND", MPL_INLINE)
    if config.get("sandboxed"):
        config = {**config, "base_env": dict(os.environ)}
        _not_dumpable()
    for name in ["ipykernel.kernelapp", *config.get("preload", [])]:
        importlib.import_module(name)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped automatically
    threading.Thread(target=_exit_when_stdin_closes, daemon=True).start()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(socket_path + ".tmp")
    listener.listen(16)
    os.rename(socket_path + ".tmp", socket_path)  # the socket appears only once ready
    while True:
        connection, _ = listener.accept()
        try:
            message, fds, _, _ = socket.recv_fds(connection, 1 << 20, 3)
            request = json.loads(message)
        except (OSError, ValueError):
            connection.close()
            continue
        pid = os.fork()
        if pid == 0:
            listener.close()
            if "evaluate" in request:
                _evaluate(config, request, connection)
            _become_kernel(config, request, fds, connection)
        for fd in fds:
            os.close(fd)
        connection.close()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _kernel_pid(client: socket.socket) -> int:
    """The forked kernel's process id, from the credentials the kernel sent with its message."""
    _, ancillary, _, _ = client.recvmsg(16, socket.CMSG_SPACE(CREDENTIALS.size))
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
            return int(CREDENTIALS.unpack(data[: CREDENTIALS.size])[0])
    raise RuntimeError("the kernel fork server did not start a kernel")


def launch(socket_path: str, argv: list[str]) -> int:
    """Ask the server for a kernel running `argv` here; stand in for it until it exits."""
    read_end, write_end = os.pipe()
    request = {"argv": argv, "cwd": os.getcwd(), "env": dict(os.environ)}
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
        client.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        client.connect(socket_path)
        socket.send_fds(client, [json.dumps(request).encode()], [read_end, 1, 2])
        os.close(read_end)
        pid = _kernel_pid(client)
    for signum in FORWARDED:
        signal.signal(signum, lambda received, _frame: os.kill(pid, received))
    while _alive(pid):
        time.sleep(0.05)
    os.close(write_end)
    return 0


def main(args: list[str]) -> int:
    """`serve SOCKET CONFIG-JSON` or `launch SOCKET -- KERNEL ARGS...`."""
    if len(args) == 3 and args[0] == "serve":
        serve(args[1], json.loads(args[2]))
        return 0
    if len(args) >= 3 and args[0] == "launch" and args[2] == "--":
        return launch(args[1], args[3:])
    print("usage: python -m digiready.kernel_fork serve SOCKET CONFIG-JSON | "
          "launch SOCKET -- KERNEL-ARGS...", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
