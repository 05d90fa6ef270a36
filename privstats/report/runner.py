"""Run a report notebook with papermill and write its folder, all or nothing.

For ``run_report("traffic_report", params={"partner": "acme", "period": "2026-10"})``:

1. The parameters are checked against the notebook's ``parameters`` cell before any kernel
   starts (see :mod:`privstats.report.parameters`).
2. The notebook runs under papermill in a ``python3`` kernel of this environment, its working
   folder the notebook's own. The runner inserts one first cell that binds the kernel to a
   staging folder; the notebook publishes into it (see :mod:`privstats.report.session`).
3. The executed notebook, which holds the parameters and any traceback, is written to the
   private work folder ``<out>/.work/<name>/<partner>/<period>/executed.ipynb``; it is kept
   for debugging and is never an artefact.
4. ``report.html``, one CSV per table and ``manifest.json`` are written into a temporary
   sibling of ``<out>/<name>/<partner>/<period>/``, which replaces the output folder only when
   everything succeeded. A failing notebook raises a one-line ``ReportError`` naming the
   notebook, the cell and the exception's type (never its message, which may carry data) and
   leaves the output folder as it was. An existing output folder is replaced only with
   ``overwrite=True`` (``--force``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import importlib.metadata
import json
import logging
import os
import re
import secrets
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
from filelock import FileLock, Timeout
from traitlets.config import Config

import privstats
from privstats import config as _config
from privstats.config import CONFIG_ENV, find_config_file
from privstats.exceptions import DisclosureError, ParameterError, PrivstatsError, ReportError
from privstats.report import session
from privstats.report.csvout import write_csv
from privstats.report.headline import Headline, Read
from privstats.report.html import (
    FigureItem,
    HeadlineItem,
    Item,
    ReportDocument,
    TextItem,
    render_report,
)
from privstats.report.i18n import Language, message, report_title
from privstats.report.manifest import (
    REVIEW_RECORDS,
    WORK_FOLDER,
    ManifestInput,
    build_manifest,
    sha256_file,
    write_manifest,
)
from privstats.report.parameters import (
    PARAMETERS_TAG,
    convert_texts,
    read_parameters,
    validate,
)
from privstats.report.plan import tables_read
from privstats.report.table import NAME_PATTERN, ReportTable, json_default
from privstats.solvers import quiet_highs

log = logging.getLogger(__name__)


class _CheckedParameters(logging.Filter):
    """Drop papermill's "unknown parameter" warning: its regex-based reading of the parameters
    cell misses annotations such as ``str | None``, and every name was checked here already."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Passed unknown parameter")


logging.getLogger("papermill").addFilter(_CheckedParameters())

KERNEL_NAME = "python3"
SETUP_TAG = "privstats-setup"
INJECTED_TAG = "injected-parameters"
EXECUTED = "executed.ipynb"
KERNEL_LOG = "kernel.log"
# The Python environment the kernel must run in: the runner's own.
RUNNER_PREFIX = sys.prefix
ALL_PARTNERS = "all"
# The release area beside the reports (``privstats release`` writes it).
RELEASED = "released"
# Parameters that name places on this machine: passed to the notebook, kept out of the manifest.
_LOCAL_SUFFIXES = ("_path", "_dir", "_folder")
_TYPE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]{0,100}$")
_REFUSED_STATUSES = frozenset({"fail", "failed", "error"})


@dataclass(frozen=True)
class ReportOutput:
    """A report folder written."""

    report: str
    partner: str | None
    period: str
    folder: Path
    files: tuple[str, ...]
    executed_notebook: Path
    seconds: float
    # The folder was there already and ``skip_existing`` kept it: nothing ran.
    skipped: bool = False


def software_version() -> str:
    version = getattr(privstats, "__version__", None)
    if isinstance(version, str):
        return version
    try:
        return importlib.metadata.version("privstats")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def default_notebooks_dir(root: Path | None = None) -> Path:
    """``<root>/notebooks`` when it exists, else the project's own ``notebooks/``."""
    local = (root or Path.cwd()) / "notebooks"
    return local if local.is_dir() else Path(__file__).resolve().parents[2] / "notebooks"


def notebook_path(name: str, notebooks_dir: Path) -> Path:
    if not NAME_PATTERN.match(name):
        raise ReportError("a report name is a notebook's file name without '.ipynb'")
    path = notebooks_dir / f"{name}.ipynb"
    if not path.is_file():
        known = sorted(p.stem for p in notebooks_dir.glob("*.ipynb"))
        listing = ", ".join(known) if known else "none"
        raise ReportError(f"there is no report notebook '{name}' (reports: {listing})")
    return path


def _partner(values: Mapping[str, Any]) -> str | None:
    partner = values.get("partner")
    if partner is None:
        return None
    if not isinstance(partner, str) or not NAME_PATTERN.match(partner) or partner == ALL_PARTNERS:
        raise ParameterError(
            "parameter 'partner' must be a partner id: 1-64 characters of a-z, 0-9, '_' or '-'"
        )
    return partner


def _period(name: str, values: Mapping[str, Any]) -> str:
    start, end = values.get("start"), values.get("end")
    if start and end:
        if values.get("period"):
            raise ParameterError(
                f"report '{name}' takes either a 'period' or 'start' and 'end', not both"
            )
        if str(start) > str(end):
            raise ParameterError("parameter 'start' must not come after 'end'")
        return f"{start}_{end}"
    if values.get("period"):
        return str(values["period"])
    if start or end:
        raise ParameterError(f"report '{name}' needs both 'start' and 'end' (or a 'period')")
    raise ParameterError(f"report '{name}' needs a 'period' (or 'start' and 'end') parameter")


def _setup_cell(
    staging: Path, config_path: Path | None, protection: tuple[str, Path] | None = None
) -> nbformat.NotebookNode:
    # The kernel imports the same privstats as the runner (its folder first on sys.path) and
    # refuses to run in another Python environment than the runner's.
    package_root = str(Path(__file__).resolve().parents[2])
    source = "\n".join(
        [
            "# Inserted by the privstats report runner; not part of the notebook.",
            "import sys as _sys",
            f"if {package_root!r} not in _sys.path:",
            f"    _sys.path.insert(0, {package_root!r})",
            *_config_lines(config_path),
            "import privstats.report.session as _privstats_session",
            f"_privstats_session.begin({str(staging)!r}, expected_prefix={RUNNER_PREFIX!r}"
            + (
                f", protection={protection[0]!r}, decisions={str(protection[1])!r})"
                if protection
                else ")"
            ),
            "del _sys, _privstats_session",
        ]
    )
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["tags"] = [SETUP_TAG]
    return cell


def _config_lines(path: Path | None = None) -> list[str]:
    """Source lines that make the kernel read the runner's configuration file (``path``, else
    the one found from the runner's working folder).

    The kernel works in the notebook's folder, where ``load_config()`` would not find the
    ``privstats.toml`` of the runner's working folder, and would protect the tables with the
    default rules instead of a partner's stricter ones.
    """
    path = path or find_config_file()
    if path is None:
        return []
    return [
        "import os as _os",
        f"_os.environ[{CONFIG_ENV!r}] = {str(path.resolve())!r}",
        "del _os",
    ]


def _where(index: int, notebook: nbformat.NotebookNode) -> str:
    """The author's view of executed cell ``index``: "cell 4 of 9 (tagged 'browsers')"."""
    # Executed cells: [setup] + source cells, with papermill's injected cell after the
    # parameters cell. Map back to the cell the author sees.
    if index == 0:
        return "the runner's setup cell"
    source_cells = notebook.cells
    parameters_at = next(
        (i for i, c in enumerate(source_cells) if PARAMETERS_TAG in c.metadata.get("tags", [])),
        None,
    )
    position = index - 1
    if parameters_at is not None and position == parameters_at + 1:
        return "the injected parameters cell"
    if parameters_at is not None and position > parameters_at + 1:
        position -= 1
    tags = [t for t in source_cells[position].metadata.get("tags", []) if NAME_PATTERN.match(t)]
    tag = f" (tagged '{tags[0]}')" if tags else ""
    return f"cell {position + 1} of {len(source_cells)}{tag}"


def _failure(name: str, error: Any, notebook: nbformat.NotebookNode, executed: Path) -> str:
    """The one-line message for a failed cell: notebook, cell, exception type; never its text."""
    ename = error.ename if _TYPE_NAME.match(str(error.ename)) else "an exception"
    if error.cell_index == 0:
        return (
            f"report notebook '{name}' could not start a privstats session in its kernel "
            f"({ename}); the '{KERNEL_NAME}' kernel must run this environment's Python: "
            f"{session.KERNEL_HINT}"
        )
    return (
        f"report notebook '{name}' failed in {_where(error.cell_index, notebook)} with {ename}; "
        f"the executed notebook is kept at {executed}"
    )


def _stopped_at(executed: Path) -> int | None:
    """The executed cell a run stopped in (the last one papermill started), if any started."""
    try:
        cells = nbformat.read(executed, as_version=4).cells
    except Exception:  # not written yet, or cut short: no cell to name
        return None
    started = [
        i
        for i, cell in enumerate(cells)
        if cell.metadata.get("papermill", {}).get("status", "pending") != "pending"
    ]
    return started[-1] if started else None


def _execute(
    name: str,
    notebook: nbformat.NotebookNode,
    values: Mapping[str, Any],
    staging: Path,
    executed: Path,
    cwd: Path,
    timeout: int,
    start_timeout: int,
    protection: tuple[str, Path] | None = None,
    config_path: Path | None = None,
) -> None:
    import papermill
    from papermill.exceptions import PapermillExecutionError

    from privstats.report.kernel import ReportKernelManager

    runnable = nbformat.from_dict(notebook)
    runnable.cells.insert(0, _setup_cell(staging, config_path, protection))
    # Kernel and runner talk over Unix sockets in a folder only this user can enter, rather
    # than over loopback TCP ports, which any local user could connect to. The folder is
    # short-named under the system's temporary folder: a socket path has at most 107 bytes.
    sockets = Path(tempfile.mkdtemp(prefix="privstats-k"))
    try:
        papermill.execute_notebook(
            runnable,
            str(executed),
            parameters=dict(values),
            kernel_name=KERNEL_NAME,
            progress_bar=False,
            log_output=False,
            request_save_on_cell_execute=True,
            start_timeout=start_timeout,
            execution_timeout=timeout,
            # The kernel's working folder, passed to nbclient rather than through papermill's
            # ``cwd``, which changes the whole process's folder and races between threads.
            resources={"metadata": {"path": str(cwd)}},
            kernel_manager_class=ReportKernelManager,
            config=Config(
                {
                    "KernelManager": {"transport": "ipc", "ip": str(sockets / "k")},
                    "ReportKernelManager": {"output_file": str(executed.parent / KERNEL_LOG)},
                }
            ),
            # Every output has arrived when the last cell is done; a graceful shutdown would
            # first interrupt the kernel, which then logs a KeyboardInterrupt to our terminal.
            shutdown_kernel="immediate",
        )
    except PapermillExecutionError as error:
        raise ReportError(_failure(name, error, notebook, executed)) from None
    except Exception as error:  # the kernel died, timed out or did not start
        stopped = _stopped_at(executed)
        where = f" in {_where(stopped, notebook)}" if stopped is not None else ""
        raise ReportError(
            f"report notebook '{name}' did not complete{where} ({type(error).__name__}); "
            f"the executed notebook is kept at {executed}"
        ) from None
    finally:
        shutil.rmtree(sockets, ignore_errors=True)


def _collect(
    staging: Path, name: str, language: Language = Language.EN
) -> tuple[list[Item], str | None]:
    """The published items in order, and the title the notebook set (if any)."""
    items: list[Item] = []
    withheld: list[str] = []
    try:
        for path in sorted(staging.glob("[0-9]*.json")):
            payload = json.loads(path.read_text(encoding="utf-8"))
            kind = payload.get("kind")
            if kind == "table":
                table = ReportTable.from_dict(payload["table"])
                if table.status.lower() in _REFUSED_STATUSES:
                    raise DisclosureError(f"table '{table.name}' failed its disclosure checks")
                items.append(table)
            elif kind == "figure":
                svg_file = staging / Path(payload["file"]).name
                items.append(
                    FigureItem(
                        name=payload["name"],
                        title=payload["title"],
                        svg=svg_file.read_text(encoding="utf-8"),
                        caption=payload.get("caption", ""),
                        alt=payload.get("alt", ""),
                        tables=tuple(payload.get("tables", ())),
                    )
                )
            elif kind == "text":
                items.append(TextItem(payload["text"], bool(payload.get("heading", False))))
            elif kind == "headline":
                figures = tuple(
                    Headline(**{**h, "read": Read(h["read"]), "rows": tuple(h["rows"])})
                    for h in payload["headlines"]
                )
                items.append(HeadlineItem(figures))
            elif kind == "empty":
                items.append(TextItem(message("common.empty", language,
                                              title=str(payload["title"]))))  # fmt: skip
            elif kind == "withheld":
                items.append(TextItem(message("common.withheld", language,
                                              title=str(payload["title"]))))  # fmt: skip
                withheld.append(str(payload.get("reason") or "it could not be protected"))
            else:
                raise ReportError(f"report '{name}' staged an item of unknown kind")
        title_file = staging / ".title.json"
        title = json.loads(title_file.read_text("utf-8"))["title"] if title_file.exists() else None
    except PrivstatsError:
        raise
    except (OSError, ValueError, KeyError, TypeError):
        raise ReportError(f"report '{name}' staged an item that cannot be read") from None
    if not any(isinstance(item, ReportTable | FigureItem) for item in items):
        if withheld:
            raise ReportError(f"report '{name}' has nothing to publish: every table was "
                              f"withheld ({withheld[0]})")  # fmt: skip
        raise ReportError(f"report notebook '{name}' published no table and no figure")
    names = [item.name for item in items if isinstance(item, ReportTable)]
    if len(names) != len(set(names)):
        raise ReportError(f"report notebook '{name}' published two tables with the same name")
    return items, title


def _place(partial: Path, folder: Path, overwrite: bool) -> None:
    """Move the finished ``partial`` folder into place (a rename: readers see old or new)."""
    if folder.exists():
        if not overwrite:
            raise ReportError(f"report folder {folder} already exists; pass --force to replace it")
        old = folder.with_name(f".{folder.name}.{secrets.token_hex(4)}.old")
        os.replace(folder, old)
        os.replace(partial, folder)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(partial, folder)


def _clear_leftovers(folder: Path) -> None:
    """Remove partial folders a crashed earlier run of the same report left behind."""
    for stale in folder.parent.glob(f".{folder.name}.*"):
        if stale.is_dir() and stale.suffix in (".partial", ".old"):
            shutil.rmtree(stale, ignore_errors=True)


def _rules_dict(rules: object) -> dict[str, Any] | None:
    if rules is None:
        return None
    if dataclasses.is_dataclass(rules) and not isinstance(rules, type):
        return dataclasses.asdict(rules)
    if isinstance(rules, Mapping):
        return dict(rules)
    raise TypeError("rules must be a RuleSet or a mapping")


@dataclass
class _Job:
    """One report to write: its checked parameters and where it goes."""

    name: str
    path: Path
    values: dict[str, Any]
    language: Language
    partner: str | None
    period: str
    rules: object
    folder: Path
    work: Path
    store: Path | None
    notebook: nbformat.NotebookNode
    config_path: Path | None
    catalog_ids: tuple[str, ...] = ()
    started: float = 0.0
    covered: tuple[dt.date, dt.date] | None = None

    @property
    def decisions(self) -> Path:
        return self.work / "decisions"

    @property
    def staging(self) -> Path:
        return self.work / "staging"

    @property
    def label(self) -> str:
        return f"{self.name}/{self.partner or ALL_PARTNERS}/{self.period}"


def _prepare(
    name: str,
    *,
    params: Mapping[str, object] | None,
    text_params: Mapping[str, str] | None,
    out_root: Path,
    store_path: Path | str | None,
    notebooks_dir: Path | str | None,
    work_root: Path | str | None,
    rules: object,
    overwrite: bool,
    catalog_ids: Sequence[str] = (),
    config: _config.Config | None = None,
) -> _Job:
    """Everything checked before a kernel starts: notebook, parameters, rules, folders.

    A notebook whose metadata names the store tables it reads (``{"privstats": {"reads":
    [...]}}``) is checked further (``report_plan``): the store (``store_path``, else
    ``config``'s) must exist, the partner must be known to it or to the configuration, and
    the period must hold data of those tables.
    """
    notebooks = Path(notebooks_dir) if notebooks_dir is not None else default_notebooks_dir()
    path = notebook_path(name, notebooks)
    declared = read_parameters(path)
    given: dict[str, object] = dict(params or {})
    if text_params:
        both = given.keys() & text_params.keys()
        if both:
            raise ParameterError(f"parameter '{sorted(both)[0]}' is given twice")
        given.update(convert_texts(declared, text_params, notebook=name))
    if store_path is not None and "store_path" in declared and "store_path" not in given:
        given["store_path"] = str(Path(store_path).resolve())
    values = validate(declared, given, notebook=name)
    if "language" not in declared:
        raise ReportError(f"report notebook '{name}' declares no 'language' parameter")
    language = Language.parse(values["language"])
    partner = _partner(values)
    period = _period(name, values)
    notebook = nbformat.read(path, as_version=4)
    reads = tables_read(notebook.metadata)
    covered = None
    if reads is not None:
        plan = _plan(values, reads, config)
        covered = plan.covered(reads)
        values["store_path"] = str(plan.store.root)
        rules = plan.rules
        catalog_ids = catalog_ids or [entry["id"] for entry in plan.store.catalog().inputs]
    elif rules is None or values.get("rules_profile"):
        # The rules the notebook applies (checked here, before a kernel starts), for the
        # manifest.
        from privstats.report.notebook import report_rules

        rules = report_rules(partner, values.get("rules_profile"), config)
    place = (name, partner or ALL_PARTNERS, period, language.value)
    work = Path(work_root).resolve() if work_root is not None else out_root / WORK_FOLDER
    store = values.get("store_path") or store_path
    return _Job(
        name, path, dict(values), language, partner, period, rules, out_root.joinpath(*place),
        work.joinpath(*place), Path(store).resolve() if store else None, notebook,
        config.path if config is not None else None, tuple(catalog_ids), time.monotonic(),
        covered,
    )  # fmt: skip


def _plan(values: Mapping[str, Any], reads: list[str], config: _config.Config | None) -> Any:
    """The report's plan (``report_plan``), checked before a kernel starts."""
    from privstats.report.plan import report_plan

    return report_plan(
        partner=values.get("partner"),
        period=values.get("period"),
        start=values.get("start"),
        end=values.get("end"),
        rules_profile=values.get("rules_profile"),
        language=values["language"],
        store_path=values.get("store_path") or None,
        reads=reads,
        config=config,
        method=values.get("method"),
    )


def _existing(job: _Job, overwrite: bool, skip_existing: bool) -> ReportOutput | None:
    """A report folder there already: kept (``skip_existing``), else an error unless it is to
    be replaced."""
    if not job.folder.exists():
        return None
    if skip_existing:
        return ReportOutput(job.name, job.partner, job.period, job.folder, (), Path(), 0.0,
                            skipped=True)  # fmt: skip
    if not overwrite:
        raise ReportError(
            f"report folder {job.folder} already exists; pass --force to replace it "
            "or --skip-existing to keep it"
        )
    return None


def _lock(job: _Job) -> FileLock:
    job.work.mkdir(parents=True, exist_ok=True)
    try:
        lock = FileLock(job.work / ".lock", timeout=0)
        lock.acquire()
    except Timeout:
        raise ReportError(
            f"another run of report '{job.name}' for this partner and period is in progress"
        ) from None
    return lock


def _pass(job: _Job, mode: str, timeout: int, start_timeout: int) -> None:
    """Execute the notebook once: ``plan`` (tables protected alone, queries noted, output
    thrown away) or ``final`` (tables as decided, output staged for the report)."""
    shutil.rmtree(job.staging, ignore_errors=True)
    job.staging.mkdir(parents=True)
    if mode == "plan":
        shutil.rmtree(job.decisions, ignore_errors=True)
        job.decisions.mkdir(parents=True)
    executed = job.work / EXECUTED
    executed.unlink(missing_ok=True)
    (job.work / KERNEL_LOG).unlink(missing_ok=True)
    _execute(job.name, job.notebook, job.values, job.staging, executed, job.path.parent,
             timeout, start_timeout, protection=(mode, job.decisions),
             config_path=job.config_path)  # fmt: skip


def _decide(jobs: Sequence[_Job], released_root: Path | None) -> None:
    """Protect every planned table of every job, in order, as one linked set with everything
    released before (to any audience: partners may talk to each other)."""
    from privstats.store import Store
    from privstats.tabulate import decisions
    from privstats.tabulate.linking import Linker

    by_store: dict[Path | None, list[_Job]] = {}
    for job in jobs:
        by_store.setdefault(job.store, []).append(job)
    for store_path, group in by_store.items():
        plans = {id(job): decisions.read_plan(job.decisions) for job in group}
        if store_path is None:
            if any(plans.values()):
                raise ReportError("a report asked for tables but names no store to read them")
            continue
        quiet_highs()  # HiGHS prints a banner on its first model: not on the report's output
        linker = Linker(Store(store_path))
        if released_root is not None:
            from privstats.gate.released import released_tables

            for published in released_tables(released_root):
                linker.add(published)
        linker.plan([p.query for plan in plans.values() for p in plan])
        for job in group:
            for number, planned in enumerate(plans[id(job)], start=1):
                table = linker.protect(
                    planned.query, planned.rules, planned.method, label=f"{job.label}#{number}"
                )
                decisions.save(job.decisions, planned, table)


def _publish(job: _Job, overwrite: bool) -> ReportOutput:
    """Render the final pass's staged items into the report folder, all or nothing."""
    items, set_title = _collect(job.staging, job.name, job.language)
    folder = job.folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    _clear_leftovers(folder)
    partial = folder.with_name(f".{folder.name}.{secrets.token_hex(4)}.partial")
    partial.mkdir()
    try:
        files = _render(
            partial,
            items,
            ManifestInput(
                report=job.name,
                notebook_sha256=sha256_file(job.path),
                partner=job.partner,
                period=job.period,
                language=job.language.value,
                parameters={k: v for k, v in job.values.items() if not k.endswith(_LOCAL_SUFFIXES)},
                rules=_rules_dict(job.rules),
                catalog_ids=job.catalog_ids,
                version=software_version(),
                generated_at=dt.datetime.now(dt.UTC),
                title=set_title or report_title(job.name, job.language),
                covered=job.covered,
            ),
            job.language,
        )
        _place(partial, folder, overwrite)
        _keep_review_records(job.work, items)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    shutil.rmtree(job.staging, ignore_errors=True)
    seconds = time.monotonic() - job.started
    log.info("report %s for %s, %s written in %.1f s", job.name, job.partner or ALL_PARTNERS,
             job.period, seconds)  # fmt: skip
    return ReportOutput(job.name, job.partner, job.period, folder, files,
                        job.work / EXECUTED, seconds)  # fmt: skip


def run_report(
    name: str,
    *,
    params: Mapping[str, object] | None = None,
    text_params: Mapping[str, str] | None = None,
    out_root: Path | str = Path("reports"),
    store_path: Path | str | None = None,
    notebooks_dir: Path | str | None = None,
    work_root: Path | str | None = None,
    catalog_ids: Sequence[str] = (),
    rules: object = None,
    overwrite: bool = False,
    skip_existing: bool = False,
    timeout: int = 600,
    start_timeout: int = 60,
    released_root: Path | str | None = None,
    config: _config.Config | None = None,
) -> ReportOutput:
    """Run report notebook ``name``; write ``<out_root>/<name>/<partner>/<period>/<language>/``.

    ``params`` are typed values (from Python); ``text_params`` are ``-p name=value`` texts from
    the command line, converted to the declared types. ``store_path`` is passed to the
    notebook's ``store_path`` parameter when it declares one (see ``_prepare`` for the checks
    before any kernel starts). ``catalog_ids`` (default: every input of the store) and
    ``rules`` (the partner's ``RuleSet``) go to the manifest. An existing folder is an error,
    replaced with ``overwrite``, kept with ``skip_existing`` (the result says ``skipped``).
    ``timeout`` bounds each cell, in seconds. The report's tables are protected as one linked
    set with every table released in ``released_root`` (default ``<out_root>/released``; see
    ``privstats.tabulate.decisions``).
    """
    out = Path(out_root).resolve()
    job = _prepare(
        name, params=params, text_params=text_params, out_root=out, store_path=store_path,
        notebooks_dir=notebooks_dir, work_root=work_root, rules=rules, overwrite=overwrite,
        catalog_ids=catalog_ids, config=config,
    )  # fmt: skip
    if (kept := _existing(job, overwrite, skip_existing)) is not None:
        return kept
    released = Path(released_root) if released_root is not None else out / RELEASED
    lock = _lock(job)
    try:
        _pass(job, "plan", timeout, start_timeout)
        _decide([job], released)
        _pass(job, "final", timeout, start_timeout)
        return _publish(job, overwrite)
    finally:
        lock.release()


def run_notebook(
    name: str,
    executed: Path | str,
    *,
    params: Mapping[str, object] | None = None,
    text_params: Mapping[str, str] | None = None,
    notebooks_dir: Path | str | None = None,
    timeout: int = 600,
    start_timeout: int = 60,
) -> Path:
    """Execute a notebook that writes no report folder (the reviewer's ``review``).

    The same checks as a report run: parameters against the ``parameters`` cell before any
    kernel starts, a kernel of this environment, a one-line ``ReportError`` naming the cell
    and the exception type. Whatever the notebook publishes is discarded; the executed
    notebook, with its outputs, is written to ``executed`` (keep it private).
    """
    notebooks = Path(notebooks_dir) if notebooks_dir is not None else default_notebooks_dir()
    path = notebook_path(name, notebooks)
    declared = read_parameters(path)
    given: dict[str, object] = dict(params or {})
    if text_params:
        given.update(convert_texts(declared, text_params, notebook=name))
    values = validate(declared, given, notebook=name)
    executed = Path(executed).resolve()
    executed.parent.mkdir(parents=True, exist_ok=True)
    notebook = nbformat.read(path, as_version=4)
    with tempfile.TemporaryDirectory(prefix="privstats-staging-") as staging:
        _execute(name, notebook, values, Path(staging), executed, path.parent, timeout,
                 start_timeout)  # fmt: skip
    return executed


def _keep_review_records(work: Path, items: Sequence[Item]) -> None:
    """The reviewer's full records (which rule hid which cell), beside the executed notebook.

    They stay out of the report folder: a partner must not learn that a cell was hidden by the
    threshold rule, which says it counts fewer persons than the threshold.
    """
    records = {
        item.name: item.review_record or item.record
        for item in items
        if isinstance(item, ReportTable)
    }
    text = json.dumps(records, ensure_ascii=False, indent=2, default=json_default)
    (work / REVIEW_RECORDS).write_text(text + "\n", encoding="utf-8")


def _render(
    folder: Path, items: Sequence[Item], run: ManifestInput, language: Language
) -> tuple[str, ...]:
    tables = [item for item in items if isinstance(item, ReportTable)]
    figures = [item for item in items if isinstance(item, FigureItem)]
    for table in tables:
        write_csv(table, folder)
    document = ReportDocument(
        report=run.report,
        title=run.title,
        partner=run.partner,
        period=run.period,
        language=language,
        generated_at=run.generated_at,
        version=run.version,
        items=tuple(items),
        rules=dict(run.rules or {}),
        covered=run.covered,
    )
    (folder / "report.html").write_text(render_report(document), encoding="utf-8")
    write_manifest(build_manifest(run, tables, figures, folder), folder)
    return tuple(sorted(p.name for p in folder.iterdir()))


# --- many partners --------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchFailure:
    partner: str
    message: str


@dataclass(frozen=True)
class BatchResult:
    """The outcome of one report for many partners."""

    report: str
    succeeded: tuple[ReportOutput, ...]
    failed: tuple[BatchFailure, ...]
    seconds: float

    @property
    def ok(self) -> bool:
        return not self.failed

    def summary(self, *, failures_only: bool = False) -> str:
        """One line for the batch, then one per partner (with ``failures_only``, failed ones)."""
        written = [o for o in self.succeeded if not o.skipped]
        skipped = len(self.succeeded) - len(written)
        lines = [
            f"report {self.report}: {len(written)} written, "
            + (f"{skipped} kept as they were, " if skipped else "")
            + f"{len(self.failed)} failed in {self.seconds:.1f} s"
        ]
        if not failures_only:
            lines += [
                f"  {'kept' if o.skipped else 'ok':<8}{o.partner}: {o.folder}"
                for o in self.succeeded
            ]
        lines += [f"  FAILED  {f.partner}: {f.message}" for f in self.failed]
        return "\n".join(lines)


def run_all_partners(
    name: str,
    partners: Sequence[str],
    period: str | None = None,
    *,
    workers: int = 2,
    params: Mapping[str, object] | None = None,
    text_params: Mapping[str, str] | None = None,
    progress: bool = True,
    rules_for: Callable[[str], object] | None = None,
    out_root: Path | str = Path("reports"),
    store_path: Path | str | None = None,
    notebooks_dir: Path | str | None = None,
    work_root: Path | str | None = None,
    catalog_ids: Sequence[str] = (),
    overwrite: bool = False,
    skip_existing: bool = False,
    timeout: int = 600,
    start_timeout: int = 60,
    released_root: Path | str | None = None,
    config: _config.Config | None = None,
) -> BatchResult:
    """Run report ``name`` once per partner, ``workers`` kernels at a time, and collect every
    outcome.

    The partners' reports go to different audiences who may talk to each other, so their
    tables are protected as one linked set: every notebook first runs in parallel to plan its
    tables, then the runner protects all of them in partner order against each other and
    the release area, then every notebook runs again, in parallel, to publish its decided
    tables. One partner's failure does not stop the others, and its folder is left as it
    was; with ``skip_existing`` a partner's existing folder is kept. A progress bar goes to
    standard error when it is a terminal (never into a log); ``summary()`` lists successes
    and failures, and ``ok`` is false when any run failed (the command exits non-zero then).
    ``rules_for`` gives each partner's rules for its manifest (e.g.
    ``config.disclosure.rules``).
    """
    from tqdm import tqdm

    if workers < 1:
        raise ParameterError("workers must be at least 1")
    if not partners:
        raise ParameterError("there are no partners to run the report for")
    if len(set(partners)) != len(partners):
        raise ParameterError("a partner is listed twice")
    started = time.monotonic()
    out = Path(out_root).resolve()
    released = Path(released_root) if released_root is not None else out / RELEASED
    failed: dict[str, str] = {}
    kept: dict[str, ReportOutput] = {}
    jobs: dict[str, _Job] = {}
    locks: list[FileLock] = []
    for partner in partners:
        given = {**(params or {}), "partner": partner}
        if period is not None:
            given["period"] = period
        try:
            job = _prepare(
                name, params=given, text_params=text_params, out_root=out,
                store_path=store_path, notebooks_dir=notebooks_dir, work_root=work_root,
                rules=rules_for(partner) if rules_for is not None else None,
                overwrite=overwrite, catalog_ids=catalog_ids, config=config,
            )  # fmt: skip
            if (existing := _existing(job, overwrite, skip_existing)) is not None:
                kept[partner] = existing
                continue
            locks.append(_lock(job))
            jobs[partner] = job
        except PrivstatsError as error:
            failed[partner] = str(error)

    def each(step: Callable[[_Job], Any], what: str, bar: Any) -> dict[str, Any]:
        done: dict[str, Any] = {}
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="report") as pool:
            futures = {pool.submit(step, job): partner for partner, job in jobs.items()
                       if partner not in failed}  # fmt: skip
            for future in as_completed(futures):
                partner = futures[future]
                try:
                    done[partner] = future.result()
                except PrivstatsError as error:
                    failed[partner] = str(error)
                except Exception as error:  # by type only: its text may carry data
                    failed[partner] = f"unexpected {type(error).__name__} while {what}"
                bar.update(1)
                bar.set_postfix(failed=len(failed))
        return done

    try:
        with tqdm(total=2 * len(jobs), desc=name, unit="pass", file=sys.stderr,
                  disable=not (progress and sys.stderr.isatty())) as bar:  # fmt: skip
            each(lambda job: _pass(job, "plan", timeout, start_timeout), "planning", bar)
            planned = [jobs[p] for p in partners if p in jobs and p not in failed]
            try:
                _decide(planned, released)
            except PrivstatsError as error:
                for job in planned:
                    failed[job.partner or ""] = str(error)

            def final(job: _Job) -> ReportOutput:
                _pass(job, "final", timeout, start_timeout)
                return _publish(job, overwrite)

            finals = each(final, "writing", bar)
    finally:
        for lock in locks:
            lock.release()
    order = {partner: i for i, partner in enumerate(partners)}
    return BatchResult(
        report=name,
        succeeded=tuple(
            sorted([*finals.values(), *kept.values()], key=lambda o: order[o.partner or ""])
        ),
        failed=tuple(BatchFailure(p, failed[p]) for p in sorted(failed, key=lambda p: order[p])),
        seconds=time.monotonic() - started,
    )
