"""Kernels forked by a worker's kernel server (`digiready.grading.fast_execute`): the worker
reaches each one directly, through a pidfd and a lifeline, with no launcher process."""

from __future__ import annotations

import asyncio
import os
import select
import time
from pathlib import Path

import pytest
from jupyter_client.connect import write_connection_file

from digiready.grading import fast_execute
from digiready.grading.fast_execute import ForkedKernelManager, KernelServer, use_server
from digiready.grading.kernel_fork import request_kernel
from digiready.grading.sandbox import Sandbox


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


async def _interrupt_then_stop(folder: Path) -> tuple[str, int, int | None, int | None]:
    """A forked kernel in `folder`: what an interrupted `sleep` raised, the kernel's process
    id, and its exit status (poll) while running and after shutdown."""
    manager = ForkedKernelManager(kernel_name="python3")
    await manager.start_kernel(cwd=str(folder))
    client = manager.client()
    client.start_channels()
    try:
        await client.wait_for_ready(timeout=60)
        process = manager.provisioner.process  # type: ignore[union-attr]
        request = client.execute("import time; time.sleep(60)")
        started = await client.get_iopub_msg(timeout=30)
        while (started["msg_type"], started["parent_header"].get("msg_id")) != (
                "execute_input", request):  # the kernel has begun the cell, on a slow machine too
            started = await client.get_iopub_msg(timeout=30)
        await asyncio.sleep(0.5)
        await manager.interrupt_kernel()
        reply = await client.get_shell_msg(timeout=30)
        while reply["parent_header"].get("msg_id") != request:
            reply = await client.get_shell_msg(timeout=30)
        running = process.poll()
        await manager.shutdown_kernel(now=True)
        return reply["content"].get("ename", ""), process.pid, running, process.poll()
    finally:
        client.stop_channels()


@pytest.mark.usefixtures("sandbox_available")
def test_a_sandboxed_forked_kernel_is_interrupted_and_stopped_directly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker's kernel manager starts no launcher: the kernel is the server's child, yet it
    is interrupted (the cell stops with KeyboardInterrupt and the kernel lives on) and stopped
    by the worker, and its process is gone afterwards."""
    monkeypatch.setattr(fast_execute, "_ACTIVE", [])  # this test's server, only while it runs
    server = Sandbox()
    use_server(server)
    try:
        ename, pid, running, ended = asyncio.run(_interrupt_then_stop(tmp_path))
    finally:
        server.close()
    assert ename == "KeyboardInterrupt"
    assert running is None
    assert ended == 0
    assert _gone(pid)


def test_a_kernel_ends_when_its_lifeline_closes(tmp_path: Path) -> None:
    """If the worker holding a kernel's lifeline closes it (as its death does), the kernel
    exits at once, whatever it was doing."""
    server = KernelServer()
    try:
        connection = tmp_path / "kernel.json"
        write_connection_file(str(connection))
        pid, lifeline = request_kernel(str(server.socket_path), str(tmp_path),
                                       ["-f", str(connection)], dict(os.environ))
        handle = os.pidfd_open(pid)
        assert not select.select([handle], [], [], 1.0)[0]  # it runs
        started = time.monotonic()
        os.close(lifeline)
        assert select.select([handle], [], [], 10.0)[0], "the kernel outlived its lifeline"
        assert time.monotonic() - started < 10
        os.close(handle)
    finally:
        server.close()
