"""``privstats audit`` and ``privstats release``: the command-line glue, for ``privstats/cli.py``.

::

    privstats audit PATH [--canaries FILE] [--no-store] [--released DIR] [--json]
    privstats release PATH --reviewer NAME [--canaries FILE] [--released DIR]

``audit`` prints the verdict and one line per finding and exits 0 when the path passes, 1 when
anything fails. ``release`` prints the same when the audit fails and exits 1 with nothing
written; any other refusal is a ``GateError`` (one line, exit 1). Both need the store the
report was made from (a ``NoDataError``, exit 2, when there is none); ``audit --no-store``
checks the folder alone, and its verdict then says what was not checked instead of PASS.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from privstats.exceptions import GateError

if TYPE_CHECKING:
    from privstats.config import Config
    from privstats.gate.findings import AuditReport
    from privstats.leaks import CanarySet
    from privstats.store import Store


def add_audit_arguments(
    parser: argparse.ArgumentParser, path: Callable[[str], Path] = Path
) -> None:
    parser.add_argument("path", type=path, help="a report folder, or any file or folder")
    _common(parser)
    parser.add_argument(
        "--no-store", action="store_true",
        help="check the folder alone: do not recompute the tables from the store",
    )  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print the audit as JSON")


def add_release_arguments(
    parser: argparse.ArgumentParser, path: Callable[[str], Path] = Path
) -> None:
    parser.add_argument(
        "path", type=path, help="the report folder, reports/<name>/<partner>/<period>/<language>"
    )
    parser.add_argument("--reviewer", required=True, help="who reviewed and releases it")
    _common(parser)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--canaries", type=Path, help="canary file (keyed digests of inputs)")
    parser.add_argument(
        "--released", type=Path,
        help="the release area with ledger.jsonl (default: reports/released beside the report)",
    )  # fmt: skip


def _canaries(path: Path | None, config: Config) -> CanarySet | None:
    if path is None:
        return None
    from privstats.key import load_key
    from privstats.leaks import CanarySet

    return CanarySet.load(path, load_key(config.key_path).derive("canary"))


def _released_root(args: argparse.Namespace, config: Config) -> Path:
    """``--released``, else ``reports/released`` beside a report folder at
    ``reports/<name>/<partner>/<period>``, else the configured release area."""
    if args.released is not None:
        return Path(args.released)
    from privstats.gate.release import default_released_root
    from privstats.report.manifest import Manifest

    path = Path(args.path)
    manifest, _ = Manifest.read(path)
    try:
        return (
            default_released_root(path, manifest) if manifest is not None else config.released_path
        )
    except (OSError, ValueError, IndexError, GateError):
        return config.released_path


def print_report(report: AuditReport, *, as_json: bool = False) -> None:
    if as_json:
        print(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
        return
    lines = report.lines()
    print(lines[0])
    for line in lines[1:]:
        print(line, file=sys.stdout if report.passed else sys.stderr)


def run_audit_command(args: argparse.Namespace, *, config: Config) -> int:
    """``privstats audit``: 0 when the path passes, 1 when anything fails."""
    from privstats.gate import ReleaseLedger, audit_path

    store = (
        None
        if args.no_store
        else configured_store(config, "an audit (without --no-store) recomputes every table")
    )
    report = audit_path(
        args.path,
        store=store,
        canaries=_canaries(args.canaries, config),
        ledger=ReleaseLedger(_released_root(args, config)),
        required_rules=config.disclosure.rules,
        config=config,
    )
    print_report(report, as_json=args.json)
    return 0 if report.passed else 1


def run_release_command(args: argparse.Namespace, *, config: Config) -> int:
    """``privstats release``: 0 when released; 1 (nothing written) when the audit fails."""
    from privstats.gate import AuditFailed, release

    store = configured_store(config, "a release re-verifies every table")
    try:
        done = release(
            args.path,
            args.reviewer,
            released_root=args.released,
            store=store,
            canaries=_canaries(args.canaries, config),
            required_rules=config.disclosure.rules,
            config=config,
        )
    except AuditFailed as failed:
        print_report(failed.report)
        raise
    print(done.summary())
    return 0


def configured_store(config: Config, why: str) -> Store:
    """The configuration's store, or a ``NoDataError`` that says why it is needed."""
    from privstats.exceptions import NoDataError
    from privstats.workspace import open_store

    try:
        return open_store(None, config)
    except NoDataError as missing:
        raise NoDataError(f"{missing}; {why} from the store the report was made from") from None
