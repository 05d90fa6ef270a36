"""Real faults of the file system for the tests: a read-only folder, a nearly full disk.

Root ignores permission bits, so as root a folder is made read-only by a read-only bind mount
of itself, and a small disk is a tmpfs of a few hundred KiB; where mounting is not allowed
(an unprivileged user in a container) the tests that need it are skipped, or, for read-only,
the folder's write bits are taken away, which stops an unprivileged user.
"""

from __future__ import annotations

import contextlib
import os
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest


def _mount(*args: str) -> bool:
    done = subprocess.run(["mount", *args], capture_output=True, text=True, check=False)
    return done.returncode == 0


def _umount(path: Path) -> None:
    subprocess.run(["umount", "-l", str(path)], capture_output=True, check=False)


@contextlib.contextmanager
def read_only(folder: Path) -> Iterator[None]:
    """``folder`` (and all in it) cannot be written while this lasts."""
    if os.geteuid() != 0:
        modes = {p: p.stat().st_mode for p in [folder, *folder.rglob("*")] if p.is_dir()}
        for path, mode in modes.items():
            path.chmod(mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
        try:
            yield
        finally:
            for path, mode in modes.items():
                path.chmod(mode)
        return
    if not _mount("--bind", str(folder), str(folder)):
        pytest.skip("running as root, and a read-only bind mount is not allowed here")
    try:
        if not _mount("-o", "remount,ro,bind", str(folder)):
            pytest.skip("running as root, and a read-only bind mount is not allowed here")
        yield
    finally:
        _umount(folder)


@contextlib.contextmanager
def small_disk(folder: Path, size_kib: int) -> Iterator[Path]:
    """``folder`` as a file system of ``size_kib`` KiB (a tmpfs; root only)."""
    folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0 or not _mount(
        "-t", "tmpfs", "-o", f"size={size_kib}k", "tmpfs", str(folder)
    ):
        pytest.skip("a small tmpfs needs root and a mount namespace that allows it")
    try:
        yield folder
    finally:
        _umount(folder)


def fill(folder: Path, leave_kib: int) -> None:
    """Fill ``folder``'s file system until about ``leave_kib`` KiB are free."""
    free = os.statvfs(folder).f_bavail * os.statvfs(folder).f_frsize
    wanted = max(0, free - leave_kib * 1024)
    with (folder / "ballast").open("wb") as handle:
        while wanted > 0:
            chunk = min(wanted, 1 << 20)
            try:
                handle.write(b"\0" * chunk)
                handle.flush()
            except OSError:
                break
            wanted -= chunk
