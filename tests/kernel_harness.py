"""Run code in a real Python kernel and score test cells exactly as nbgrader does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat
from jupyter_client.manager import start_new_kernel
from nbformat.v4 import output_from_msg
from nbgrader.utils import determine_grade

OUTPUT_TYPES = {"stream", "execute_result", "display_data", "error"}


class Kernel:
    """One python3 kernel started in a folder (so relative files such as scenarios load)."""

    def __init__(self, cwd: Path) -> None:
        self.manager, self.client = start_new_kernel(kernel_name="python3", cwd=str(cwd))

    def run(self, code: str) -> list[Any]:
        outputs: list[Any] = []

        def collect(message: dict[str, Any]) -> None:
            if message["msg_type"] in OUTPUT_TYPES:
                outputs.append(output_from_msg(message))

        self.client.execute_interactive(code, output_hook=collect, timeout=120)
        return outputs

    def score(self, test_cell: Any) -> float:
        """Run a test cell and return the points nbgrader would give it."""
        cell = nbformat.from_dict(dict(test_cell))
        cell.outputs = self.run(test_cell.source)
        earned, _ = determine_grade(cell)
        return float(earned or 0.0)

    def close(self) -> None:
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)


ALWAYS_EQUAL = """
class _AlwaysEqual:
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    def __hash__(self): return 0
    def __contains__(self, item): return True
    def __len__(self): return 4
    def __iter__(self): return iter(["a", "b", "c", "d"])
    def __getitem__(self, key): return self
    def __float__(self): return 1.0
    def items(self): return []
    def keys(self): return []
    def lower(self): return self
    def strip(self): return self
"""

