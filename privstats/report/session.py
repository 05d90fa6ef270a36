"""The notebook's side of a report run: what a report notebook hands over, and nothing else.

A report notebook calls :func:`publish` for each protected table, :func:`publish_figure` for
each chart and :func:`publish_text` for each paragraph, in the order the report should show
them. When the runner executes the notebook it first binds a staging folder (:func:`begin`);
each call then writes one small file there, and the runner builds ``report.html`` and the CSV
files from those files alone. Whatever else the notebook prints or displays stays in the
executed notebook in the private work folder: an accidental ``print`` never reaches a partner.

Outside the runner (an analyst running the notebook in JupyterLab) nothing is staged: each call
returns its item, which Jupyter displays as a preview.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from privstats.exceptions import ReportError
from privstats.report.headline import Headline
from privstats.report.table import ReportTable, check_name

STAGING_ENV = "PRIVSTATS_REPORT_STAGING"
KERNEL_HINT = "python -m ipykernel install --sys-prefix --name python3"

_state: dict[str, Path | None] = {"staging": None}


def begin(
    staging: str | os.PathLike[str],
    *,
    expected_prefix: str | None = None,
    protection: str | None = None,
    decisions: str | os.PathLike[str] | None = None,
) -> None:
    """Bind this kernel to a run's staging folder and, with ``protection`` ("plan" or
    "final"), its tables to the run's decisions folder (the runner inserts this call)."""
    if expected_prefix is not None and os.path.realpath(sys.prefix) != os.path.realpath(
        expected_prefix
    ):
        raise ReportError(
            "the report kernel runs another Python environment than the runner; "
            f"install this environment's kernel: {KERNEL_HINT}"
        )
    folder = Path(staging)
    if not folder.is_dir():
        raise ReportError("the report's staging folder does not exist")
    _state["staging"] = folder
    if protection is not None:
        from privstats.tabulate import decisions as _decisions

        _decisions.bind(protection, decisions)


def staging_folder() -> Path | None:
    """The bound staging folder, or the one named by ``$PRIVSTATS_REPORT_STAGING``, or None."""
    if _state["staging"] is not None:
        return _state["staging"]
    env = os.environ.get(STAGING_ENV)
    return Path(env) if env else None


@dataclass(frozen=True)
class StagedText:
    text: str
    heading: bool = False

    def _repr_html_(self) -> str:
        from markupsafe import escape

        tag = "h2" if self.heading else "p"
        return f"<{tag}>{escape(self.text)}</{tag}>"


@dataclass(frozen=True)
class StagedFigure:
    name: str
    title: str
    svg: str

    def _repr_svg_(self) -> str:
        return self.svg


def _next_path(folder: Path, kind: str, name: str, suffix: str) -> Path:
    existing = sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))
    for item in existing:
        if item.split("-", 2)[1:2] == [kind] and item.split("-", 2)[2].rsplit(".", 1)[0] == name:
            raise ReportError(f"a {kind} named '{name}' was already published in this report")
    return folder / f"{len(existing):04d}-{kind}-{name}{suffix}"


def _write_atomic(path: Path, data: bytes) -> None:
    # The runner reads the folder after the kernel is gone; a half-written file must not exist.
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _stage(kind: str, name: str, payload: dict[str, Any], extra: bytes | None = None) -> None:
    folder = staging_folder()
    if folder is None:
        return
    if extra is not None:
        svg_path = _next_path(folder, kind, name, ".svg")
        _write_atomic(svg_path, extra)
        payload = {**payload, "file": svg_path.name}
        # The JSON takes the same sequence number as its SVG.
        path = svg_path.with_suffix(".json")
    else:
        path = _next_path(folder, kind, name, ".json")
    _write_atomic(path, json.dumps(payload, ensure_ascii=False).encode("utf-8"))


def publish(
    table: object,
    *,
    name: str,
    title: str,
    caption: str = "",
    unit: str = "",
    decimals: int | None = None,
    index: Sequence[str] | None = None,
    columns: Sequence[str] | None = None,
    value_label: str | None = None,
    labels: Mapping[str, str] | None = None,
    categories: Mapping[str, Mapping[Any, str]] | None = None,
    top: int | None = None,
    order: Mapping[str, Sequence[Any]] | None = None,
    chart: str = "",
) -> ReportTable | None:
    """Put a protected table into the report (and its CSV file ``<name>.csv``).

    A table whose protection failed (status ``fail``: no pattern of hidden cells protects it
    together with the other tables) is withheld: the report says so in its place, in its
    language, and nothing of the table is written.

    ``index`` and ``columns`` lay out an engine table's dimensions (default: the last one
    across); ``value_label`` heads the column of a one-dimensional table (default: the query's
    measure); ``labels`` renames dimensions and ``categories`` their values for display;
    ``top`` keeps the N rows with the largest first-column values (not with totals);
    ``order`` lists a dimension's codes in the order to show them (others follow, totals last);
    ``decimals`` fixes the decimals shown (default: as few as show every value);
    ``chart`` draws the table above it (``line`` over time, ``bar`` for a short ordered
    category, ``ranked`` for a ranked list, ``heatmap`` for two dimensions), and the report
    then folds the numbers below the chart.
    """
    check_name(name, "a table")
    if _failed(table):
        # Nothing of a table that could not be protected is shown; the report says so.
        record = getattr(table, "record", None)
        reason = getattr(record, "message", None) or "it could not be protected"
        _stage("withheld", name, {"kind": "withheld", "name": name, "title": title,
                                  "reason": str(reason)})  # fmt: skip
        return None
    shown = getattr(table, "shown", None)
    if isinstance(shown, pd.DataFrame) and hasattr(table, "dims") and not len(shown):
        # Nothing to count in the period (no crawler came, no page failed): the report says
        # so in the table's place; an empty table would be a file with nothing to check.
        _stage("empty", name, {"kind": "empty", "name": name, "title": title})
        return None
    staged = ReportTable.from_protected(
        table,
        name=name,
        title=title,
        caption=caption,
        unit=unit,
        decimals=decimals,
        index=index,
        columns=columns,
        value_label=value_label,
        labels=labels,
        categories=categories,
        top=top,
        order=order,
        chart=chart,
    )
    _stage("table", name, {"kind": "table", "table": json.loads(staged.to_json())})
    return staged


def _failed(table: object) -> bool:
    status = getattr(table, "status", None)
    if status is None:
        record = getattr(table, "record", None)
        status = record.get("status") if isinstance(record, Mapping) else None
    return str(getattr(status, "value", status)).lower() == "fail"


def publish_text(text: str, *, heading: bool = False) -> StagedText:
    """Put a paragraph (or, with ``heading=True``, a section heading) into the report.

    The text is shown as plain text: markup in it is escaped, never interpreted.
    """
    if not isinstance(text, str) or not text.strip():
        raise ReportError("publish_text() takes a non-empty text")
    staged = StagedText(text.strip(), heading)
    folder = staging_folder()
    if folder is not None:
        name = "heading" if heading else "paragraph"
        count = sum(1 for _ in folder.iterdir())
        _stage("text", f"{name}{count}", {"kind": "text", "text": staged.text, "heading": heading})
    return staged


def publish_headline(headlines: Sequence[Headline]) -> tuple[Headline, ...]:
    """Put the headline strip on top of the report: figures worked out from published tables
    when the report is rendered (see ``privstats.report.headline``)."""
    chosen = tuple(headlines)
    if not chosen or not all(isinstance(h, Headline) for h in chosen):
        raise ReportError("publish_headline() takes a list of Headline figures")
    payload = {"kind": "headline", "headlines": [dataclasses.asdict(h) for h in chosen]}
    _stage("headline", "headline", payload)
    return chosen


def set_title(title: str) -> None:
    """Replace the catalogue's title of this report (e.g. with the partner's report name)."""
    if not isinstance(title, str) or not title.strip():
        raise ReportError("set_title() takes a non-empty text")
    folder = staging_folder()
    if folder is not None:
        _write_atomic(folder / ".title.json", json.dumps({"title": title.strip()}).encode())


def publish_figure(
    figure: Any,
    *,
    name: str,
    title: str,
    caption: str = "",
    alt: str = "",
    tables: Sequence[str] = (),
) -> StagedFigure:
    """Put a matplotlib figure into the report as SVG with its text kept as text.

    Every visible axes must carry both axis labels (with units, e.g. "requests per hour"): a
    chart a reader cannot read is refused. ``tables`` names the published tables the chart was
    drawn from; the manifest records them so that a reviewer can trace every plotted number.
    """
    import matplotlib

    check_name(name, "a figure")
    figure = getattr(figure, "figure", figure)  # an Axes was passed
    if not hasattr(figure, "savefig") or not hasattr(figure, "axes"):
        raise ReportError("publish_figure() takes a matplotlib figure or axes")
    for number, axes in enumerate(figure.axes, start=1):
        if not axes.axison or axes.get_label() == "<colorbar>":
            continue
        if not axes.get_xlabel().strip() or not axes.get_ylabel().strip():
            raise ReportError(f"figure '{name}': axes {number} needs both axis labels, with units")
    for table in tables:
        check_name(table, "a table")
    buffer = io.BytesIO()
    with matplotlib.rc_context(
        {"svg.fonttype": "none", "svg.hashsalt": name, "svg.image_inline": True}
    ):
        figure.savefig(
            buffer,
            format="svg",
            bbox_inches="tight",
            metadata={"Date": None, "Creator": None, "Format": None, "Type": None},
        )
    svg = buffer.getvalue()
    payload = {
        "kind": "figure",
        "name": name,
        "title": title,
        "caption": caption,
        "alt": alt or title,
        "tables": list(tables),
    }
    _stage("figure", name, payload, extra=svg)
    return StagedFigure(name, title, svg.decode("utf-8"))
