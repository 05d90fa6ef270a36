"""``privstats report``: the command-line glue around the runner, for ``privstats/cli.py``.

::

    privstats report NAME [--partner P | --all-partners] [--period 2026-10] [-p key=value ...]
                          [--language pl|en] [--method suppress|dp] [--workers N] [--out DIR]
                          [--force | --skip-existing]

``--partner``, ``--period``, ``--language`` and ``--method`` are shorthands for ``-p
partner=...`` and so on; every value goes through the same checks against the notebook's
``parameters`` cell. The
command exits 0 when every report was written (or kept with ``--skip-existing``), 2 before
anything runs when a parameter, the partner, the period or the store is wrong, and 1 when a
notebook failed or any partner of a batch failed.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from privstats.exceptions import ParameterError, ReportError

if TYPE_CHECKING:
    from privstats.config import Config


EXAMPLES = """\
examples:
  privstats report partner_summary --partner acme --period 2026-10
  privstats report partner_summary --all-partners --period 2026-10 --language en --skip-existing
  privstats report crm_activity_report --period 2026-10 -p rules_profile=strict
  privstats report traffic_report -p start=2026-10-01 -p end=2026-10-15
"""


def reports_listing(notebooks_dir: Path) -> str:
    """The reports of ``notebooks_dir`` and the first line of each one's description."""
    lines = ["reports:"]
    for path in sorted(notebooks_dir.glob("*.ipynb")):
        lines.append(f"  {path.stem:<22}{_title(path)}")
    return "\n".join(lines) + "\n"


def _title(path: Path) -> str:
    try:
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        first = "".join(cells[0]["source"]).splitlines()[0]
    except (OSError, ValueError, KeyError, IndexError, TypeError):
        return ""
    return first.lstrip("# ").split(" · ")[0]


def add_report_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the ``report`` command's arguments on its sub-parser."""
    parser.add_argument("name", help="the report notebook (listed below)")
    who = parser.add_mutually_exclusive_group()
    who.add_argument("--partner", help="the partner id")
    who.add_argument(
        "--all-partners", action="store_true", help="one report per partner, in parallel"
    )
    parser.add_argument("--period", help="the month, YYYY-MM")
    parser.add_argument("--language", choices=("pl", "en"), help="the report's language")
    parser.add_argument("--method", choices=("suppress", "dp"),
                        help="hidden cells, or noise charged to the privacy budget (default: "
                        "the partner's, [dp] partners)")  # fmt: skip
    parser.add_argument(
        "-p",
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a notebook parameter (repeatable); unknown or mistyped names are errors",
    )
    parser.add_argument("--workers", type=int, default=2, help="parallel reports (default 2)")
    parser.add_argument(
        "--out", type=Path, default=Path("reports"), help="output root (default ./reports)"
    )
    parser.add_argument(
        "--notebooks", type=Path, help="folder of report notebooks (default <config>/notebooks)"
    )
    parser.add_argument(
        "--timeout", type=int, default=600, help="seconds a single cell may take (default 600)"
    )
    existing = parser.add_mutually_exclusive_group()
    existing.add_argument("--force", action="store_true", help="replace an existing report folder")
    existing.add_argument(
        "--skip-existing",
        action="store_true",
        help="keep an existing report folder and count it as done (for cron)",
    )


def run_report_command(
    args: argparse.Namespace,
    *,
    config: Config,
    partners: Callable[[], Sequence[str]] | None = None,
    catalog_ids: Sequence[str] = (),
) -> int:
    """Run what ``args`` asks for; ``partners`` lists every partner id for ``--all-partners``.

    With ``args.quiet`` it prints only what failed."""
    from privstats.report.runner import default_notebooks_dir, run_all_partners, run_report

    # papermill and nbclient narrate every step at INFO; the runner says what matters.
    for name in ("papermill", "nbclient", "traitlets"):
        logging.getLogger(name).setLevel(logging.WARNING)
    from privstats.report.parameters import parse_assignments

    texts = parse_assignments(args.param)
    for option in ("partner", "period", "language", "method"):
        value = getattr(args, option)
        if value is None:
            continue
        if option in texts:
            raise ParameterError(f"parameter '{option}' is given twice")
        texts[option] = value
    options = {
        "out_root": args.out,
        "store_path": config.store_path,
        "notebooks_dir": args.notebooks or default_notebooks_dir(config.root),
        "catalog_ids": tuple(catalog_ids),
        "overwrite": args.force,
        "skip_existing": args.skip_existing,
        "timeout": args.timeout,
        "config": config,
        # Every table is protected together with what was released before, to anyone.
        "released_root": config.released_path,
    }
    quiet = getattr(args, "quiet", False)
    if not args.all_partners:
        partner = texts.get("partner")
        output = run_report(
            args.name, text_params=texts, rules=config.disclosure.rules(partner), **options
        )
        if not quiet:
            if output.skipped:
                print(f"kept {output.folder} as it was")
            else:
                print(f"wrote {output.folder} in {output.seconds:.1f} s")
        return 0
    if "partner" in texts:
        raise ParameterError("--all-partners runs every partner; do not name one")
    if partners is None:
        raise ReportError("no list of partners is available for --all-partners")
    result = run_all_partners(
        args.name,
        list(partners()),
        workers=args.workers,
        text_params=texts,
        rules_for=config.disclosure.rules,
        progress=not quiet,
        **options,
    )
    if not (quiet and result.ok):
        print(result.summary(failures_only=quiet), file=sys.stdout if result.ok else sys.stderr)
    return 0 if result.ok else 1
