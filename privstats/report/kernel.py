"""The kernel manager of report runs: its process's own output goes to a private file.

ipykernel captures what cells print, but not what a C library writes straight to the process's
file descriptors (HiGHS's banner, a native warning); those would reach the runner's terminal,
and from there a cron log. The kernel's stdout and stderr go to ``kernel.log`` in the run's
private work folder instead.
"""

from __future__ import annotations

from typing import Any

from jupyter_client.manager import AsyncKernelManager
from traitlets import Unicode


class ReportKernelManager(AsyncKernelManager):
    output_file = Unicode("", help="file for the kernel process's stdout and stderr").tag(
        config=True
    )

    # Takes what jupyter_client's start_kernel takes, passed on whole as **kw.
    async def start_kernel(self, **kw: Any) -> None:  # type: ignore[override]
        if not self.output_file:
            await super().start_kernel(**kw)
            return
        # Popen duplicates the descriptor; the kernel keeps writing after this file is closed.
        with open(self.output_file, "ab") as stream:
            await super().start_kernel(stdout=stream, stderr=stream, **kw)
