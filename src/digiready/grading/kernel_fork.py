"""Fresh Jupyter kernels forked from a process that has already imported the heavy modules.

`serve` runs in the background of a grading worker (inside its sandbox, see
`digiready.grading.sandbox`): it imports pandas, matplotlib, ipywidgets and digiready once, then
waits on a Unix socket and answers each request by its kind ("kernel": fork a kernel; "ping": say
it is alive). For each kernel, the worker's kernel manager asks the server to fork
(`request_kernel`), telling it the kernel's folder. The forked child takes that folder,
gets no terminal (its standard streams are /dev/null), is confined by `_confine` and becomes an
ordinary IPython kernel, so every submission gets its own fresh process.

In a sandbox, `_confine` applies the resource limits and the unprivileged user id the server was
given, then puts the kernel into namespaces of its own: a user namespace, a process namespace (it
cannot see or signal the server or anything else), an IPC namespace (no SysV shared memory
survives it) and a mount namespace in which the sandbox's scratch root is an empty read-only
tmpfs with only the kernel's own per-student folder bound back (the server's socket and other
students' folders are not there). One more user and mount namespace on top locks those mounts,
and the kernel keeps no capabilities. The first process of the new process namespace is a tiny
init that reaps and ends when the kernel and everything it started have ended.

The child announces itself to the worker with its credentials, so the worker learns its process
id as seen from outside the sandbox's process namespaces (the kernel translates it), and signals
and awaits it through a pidfd (`digiready.grading.fast_execute.ForkedKernel`). The worker holds
the write end of a pipe whose read end the child watches: when the worker closes it, or dies, the
kernel exits at once.

Only the standard library is imported at module level, so the server's `-I` start and `probe`
import nothing else of the environment before they must.
"""

from __future__ import annotations

import contextlib
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
from typing import Any

GRADING_KERNEL = "DIGIREADY_GRADING_KERNEL"  # digiready.student.scenario_view reads it
FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)  # a kernel's init ignores these
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
CLONE_NEWNS, CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID = 0x20000, 0x8000000, 0x10000000, 0x20000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT = 1, 2, 4, 8, 32
MS_BIND, MS_REC, MS_PRIVATE = 4096, 16384, 1 << 18
KERNEL_UID_INSIDE = 65534  # the kernel's user id as it sees it: nobody
# SysV IPC limits inside a kernel's own IPC namespace (shmall is in pages)
IPC_LIMITS = {"shmmax": 64 * 1024**2, "shmall": 16384, "shmmni": 64, "msgmnb": 65536}
LINUX_CAPABILITY_VERSION_3 = 0x20080522
EVALUATE_SECONDS = 30  # an answer expression that runs longer is stopped


def _exit_when_closed(fd: int) -> None:
    """Block until the worker's end of the lifeline closes, then end this kernel at once."""
    while os.read(fd, 1):
        pass
    os._exit(1)


def _exit_when_stdin_closes() -> None:
    sys.stdin.read()
    os._exit(0)


def _kernel_environment(
    config: dict[str, Any], requested: dict[str, str], private: str | None
) -> dict[str, str]:
    if not config.get("sandboxed"):
        return requested
    passed = {k: v for k, v in requested.items() if k.startswith(PASSED_ENV_PREFIXES)}
    own: dict[str, str] = {}
    if private:  # HOME and TMPDIR in the student's own folder, gone after the student
        home = os.path.join(private, "home")
        own = {"HOME": home, "TMPDIR": os.path.join(private, "tmp"),
               "MPLCONFIGDIR": os.path.join(home, ".config", "matplotlib")}
    return {**config["base_env"], **own, **passed}


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    """Raise OSError (with errno's message) when a libc call failed."""
    if result != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"{what}: {os.strerror(error)}")


def _mount(source: str | None, target: str, kind: str | None, flags: int,
           data: str | None = None) -> None:
    encoded = [None if text is None else text.encode() for text in (source, target, kind, data)]
    _check(_libc().mount(*encoded[:3], ctypes.c_ulong(flags), encoded[3]), f"mount {target}")


def _new_user_namespace(flags: int, inside: int) -> None:
    """Unshare a user namespace (and `flags`), mapping `inside` to this process's ids."""
    uid, gid = os.geteuid(), os.getegid()
    _check(_libc().unshare(CLONE_NEWUSER | flags), "unshare")
    _check(_libc().prctl(PR_SET_DUMPABLE, 1, 0, 0, 0), "prctl")  # or /proc/self is root's
    for name, text in (("setgroups", "deny"), ("uid_map", f"{inside} {uid} 1"),
                       ("gid_map", f"{inside} {gid} 1")):
        with open(f"/proc/self/{name}", "w", encoding="ascii") as handle:
            handle.write(text)


def _drop_capabilities() -> None:
    """Give up every capability (those a new user namespace grants in itself)."""
    header = (ctypes.c_uint32 * 2)(LINUX_CAPABILITY_VERSION_3, 0)
    data = (ctypes.c_uint32 * 6)()
    _check(_libc().capset(header, data), "capset")


def _init(child: int) -> None:
    """Pid 1 of a kernel's process namespace, without capabilities: reap until nothing is
    left, then exit with the kernel's status (which ends the namespace)."""
    _drop_capabilities()
    os.closerange(3, 1 << 16)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    for signum in FORWARDED:
        signal.signal(signum, signal.SIG_IGN)
    status = 1
    while True:
        try:
            pid, code = os.wait()
        except ChildProcessError:
            os._exit(status)
        if pid == child:
            status = os.waitstatus_to_exitcode(code) & 0xFF


def _hide_scratch(scratch: str, private: str | None) -> None:
    """In this mount namespace: /dev/shm and the scratch root show only `private` (the kernel's
    own folder); a fresh /proc shows only this process namespace; SysV IPC limits are low."""
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    keep = os.open(private, os.O_PATH | os.O_DIRECTORY) if private else -1
    if private and os.path.isdir(os.path.join(private, "shm")):
        _mount(os.path.join(private, "shm"), "/dev/shm", None, MS_BIND | MS_REC)
    _mount("tmpfs", scratch, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=64k")
    if private:
        os.makedirs(private)
        _mount(f"/proc/self/fd/{keep}", private, None, MS_BIND | MS_REC)
        os.close(keep)
    _mount(None, scratch, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, "mode=0755")
    _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    for name, value in IPC_LIMITS.items():
        with open(f"/proc/sys/kernel/{name}", "w", encoding="ascii") as handle:
            handle.write(str(value))


def _isolate(scratch: str, private: str | None) -> None:
    """Put this process into mount, process and IPC namespaces of its own (and, unless the
    server is root, a user namespace that makes it root there), with the scratch root hidden.
    Returns in a grandchild (pid 2 there), still with the power to change user; the processes
    in between never return."""
    flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC
    if os.geteuid() == 0:  # a root server: mounts need no user namespace (bwrap's /proc
        _check(_libc().unshare(flags), "unshare")  # has covered subfolders then)
    else:
        _new_user_namespace(flags, 0)
    if os.fork():
        os._exit(0)  # the init below is pid 1 of the new process namespace
    _not_dumpable()
    _hide_scratch(scratch, private)
    cwd = os.getcwd()
    child = os.fork()
    if child:
        _init(child)
    os.chdir(cwd)  # through the mounts made above


def _become_user(uid: int) -> None:
    """Give up root (and with it every capability) for `uid`."""
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)


def _lock_in() -> None:
    """One more user and mount namespace: the mounts made so far can no longer be undone, and
    the process keeps no capability at all."""
    _new_user_namespace(CLONE_NEWNS, KERNEL_UID_INSIDE)
    _drop_capabilities()


def _confine(config: dict[str, Any], private: str | None = None) -> None:
    """Everything that confines a process forked from the server (a kernel, or anything else
    that runs a student's code): the resource limits, the unprivileged user id the server was
    given (grading as root) and, in a sandbox, namespaces of its own in which the scratch root
    shows only `private` (the student's own folder; None: nothing) and no other process is
    visible. In a sandbox this returns in a new process (pid 2 of its own process namespace);
    the caller's process never returns."""
    for name, limit in config.get("limits", {}).items():
        resource.setrlimit(LIMITS[name], (int(limit), int(limit)))
    if config.get("sandboxed"):
        _isolate(str(config["scratch"]), private)
    uid = config.get("uid")
    if uid is not None:
        _become_user(int(uid))
    if config.get("sandboxed"):
        _lock_in()


def private_folder(config: dict[str, Any], cwd: str) -> str | None:
    """The per-student folder under the scratch root that holds `cwd` (None outside it)."""
    scratch = os.path.realpath(str(config.get("scratch", "")))
    relative = os.path.relpath(os.path.realpath(cwd), scratch)
    if not config.get("scratch") or relative.startswith(os.pardir) or relative == os.curdir:
        return None
    return os.path.join(scratch, relative.split(os.sep)[0])


def _become_kernel(
    config: dict[str, Any], request: dict[str, Any], fds: list[int], connection: socket.socket
) -> None:
    """In the forked child: adopt the requested world, then run IPython's kernel app."""
    (death_pipe,) = fds
    os.setsid()
    nowhere = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):  # no terminal: what the kernel writes at the OS level goes nowhere
        os.dup2(nowhere, fd)
    os.close(nowhere)
    cwd = str(request["cwd"])
    private = private_folder(config, cwd) if config.get("sandboxed") else None
    environment = _kernel_environment(config, request["env"], private)
    os.environ.clear()
    os.environ.update({str(key): str(value) for key, value in environment.items()})
    os.environ[GRADING_KERNEL] = "1"
    os.chdir(cwd)
    sys.path.append(cwd)  # the student's modules import, but never in place of installed ones
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    _confine(config, private)
    connection.sendall(b"ready")  # carries this process's credentials to the worker
    connection.close()
    threading.Thread(target=_exit_when_closed, args=(death_pipe,), daemon=True).start()
    from ipykernel.kernelapp import IPKernelApp

    # no parent to watch (its parent is the server, or its namespace's init): the lifeline ends it
    argv = [*(str(arg) for arg in request["argv"]), "--IPKernelApp.parent_handle=0"]
    sys.argv = ["ipykernel_launcher", *argv]
    IPKernelApp.launch_instance(argv=argv)
    os._exit(0)


def _evaluate(config: dict[str, Any], request: dict[str, Any], connection: socket.socket) -> None:
    """In a forked child that ran nothing of any student's: confine it like a kernel, evaluate
    the answer expressions on fresh datasets (`digiready.grading.answer_eval`), reply in JSON,
    exit."""
    try:
        os.setsid()
        nowhere = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(nowhere, fd)
        os.close(nowhere)
        os.chdir("/")  # the scratch root is hidden from a confined child
        _confine(config)
        signal.alarm(int(request.get("seconds", EVALUATE_SECONDS)))
        from digiready.grading.answer_eval import evaluate_all

        reply = evaluate_all(dict(request["evaluate"]), dict(request["tables"]))
        connection.sendall(json.dumps(reply).encode())
    finally:
        os._exit(0)


def _not_dumpable() -> None:
    """Forbid other processes of the same user (the kernels) to trace this one."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)


def _fork_kernel(
    config: dict[str, Any], request: dict[str, Any], fds: list[int], connection: socket.socket,
    listener: socket.socket,
) -> None:
    """Fork a kernel for a "kernel" request (its one passed fd: the worker's lifeline)."""
    if len(fds) != 1:
        for fd in fds:
            os.close(fd)
        return
    if os.fork() == 0:
        listener.close()
        try:
            _become_kernel(config, request, fds, connection)
        except BaseException as error:  # tell the worker why, then end this child
            with contextlib.suppress(OSError):
                connection.sendall(f"error: {type(error).__name__}: {error}".encode())
        finally:
            os._exit(1)
    for fd in fds:
        os.close(fd)


def _fork_evaluation(
    config: dict[str, Any], request: dict[str, Any], connection: socket.socket,
    listener: socket.socket,
) -> None:
    """Fork a confined child for an "evaluate" request; it replies and exits."""
    if os.fork() == 0:
        listener.close()
        _evaluate(config, request, connection)


def _answer(
    config: dict[str, Any], request: dict[str, Any], fds: list[int], connection: socket.socket,
    listener: socket.socket,
) -> None:
    """Do what one request asks, by its kind."""
    kind = request.get("kind", "kernel")
    if kind == "kernel":
        _fork_kernel(config, request, fds, connection, listener)
        return
    for fd in fds:
        os.close(fd)
    if kind == "ping":
        connection.sendall(b"pong")
    elif kind == "evaluate":
        _fork_evaluation(config, request, connection, listener)


def serve(socket_path: str, config: dict[str, Any]) -> None:
    """Import the preload modules, then answer requests until stdin closes."""
    os.environ.setdefault("MPLBACKEND", MPL_INLINE)
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")  # debugpy, quiet as it loads
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
            connection.settimeout(10)
            message, fds, _, _ = socket.recv_fds(connection, 1 << 20, 3)
            connection.settimeout(None)
            request = json.loads(message)
            if not isinstance(request, dict):
                raise ValueError("a request is a JSON object")
            _answer(config, request, fds, connection, listener)
        except (OSError, ValueError):
            pass
        connection.close()


def ping(socket_path: str, timeout: float = 10.0) -> bool:
    """Whether a server answers on `socket_path` within `timeout` seconds."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.settimeout(timeout)
            client.connect(socket_path)
            client.sendall(json.dumps({"kind": "ping"}).encode())
            return client.recv(4) == b"pong"
    except OSError:
        return False


def _kernel_pid(client: socket.socket) -> int:
    """The forked kernel's process id, from the credentials the kernel sent with its message."""
    message, ancillary, _, _ = client.recvmsg(4096, socket.CMSG_SPACE(CREDENTIALS.size))
    for level, kind, data in ancillary:
        if message == b"ready" and level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
            return int(CREDENTIALS.unpack(data[: CREDENTIALS.size])[0])
    detail = message.decode("utf-8", "replace").strip()
    raise RuntimeError(f"the kernel fork server did not start a kernel{': ' if detail else ''}"
                       f"{detail}")


def request_kernel(
    socket_path: str, cwd: str, argv: list[str], env: dict[str, str]
) -> tuple[int, int]:
    """Ask the server for a kernel running `argv` in `cwd` with `env`. Returns its process id
    (as seen from this process) and the write end of its lifeline: the kernel exits as soon as
    that is closed, by this process or by its death."""
    read_end, write_end = os.pipe()
    request = {"kind": "kernel", "argv": argv, "cwd": cwd, "env": env}
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
            client.connect(socket_path)
            socket.send_fds(client, [json.dumps(request).encode()], [read_end])
            os.close(read_end)
            read_end = -1
            return _kernel_pid(client), write_end
    except BaseException:
        os.close(write_end)
        raise
    finally:
        if read_end >= 0:
            os.close(read_end)


def probe(scratch: str) -> int:
    """Confine a child as a kernel is confined (in a sandbox whose scratch root is `scratch`);
    0 when that works, else 1 with the reason on stderr."""
    read_end, write_end = os.pipe()
    if os.fork() == 0:
        os.close(read_end)
        try:
            uid = 65534 if os.geteuid() == 0 else None
            os.chdir(os.path.join(scratch, "probe", "work"))
            _confine({"sandboxed": True, "scratch": scratch, "uid": uid},
                     os.path.join(scratch, "probe"))
            os.write(write_end, b"ok")
        except BaseException as error:
            os.write(write_end, f"{type(error).__name__}: {error}".encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as reader:
        said = reader.read().decode("utf-8", "replace")
    if said == "ok":
        return 0
    print(f"a kernel cannot be confined here: {said or 'no answer'}", file=sys.stderr)
    return 1


def main(args: list[str]) -> int:
    """`serve SOCKET CONFIG-JSON` or `probe SCRATCH`."""
    if len(args) == 3 and args[0] == "serve":
        serve(args[1], json.loads(args[2]))
        return 0
    if len(args) == 2 and args[0] == "probe":
        return probe(args[1])
    print("usage: python -I -m digiready.grading.kernel_fork serve SOCKET CONFIG-JSON | "
          "probe SCRATCH", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
