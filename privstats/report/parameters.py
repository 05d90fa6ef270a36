"""A report notebook's parameters: what its ``parameters`` cell declares; checks of what is given.

papermill only *warns* about a parameter the notebook does not declare, and injects a value of
any type; a misspelt ``-p partnr=acme`` would then run the report for the notebook's default
partner. Here every given name and value is checked against the declaration before a kernel
starts: an unknown name is a ``ParameterError`` that suggests the closest declared one, a value of
the wrong type is a ``ParameterError`` naming the expected type (never echoing the value).

The declaration is read with :mod:`ast` from the cell tagged ``parameters`` (papermill's own
inspection matches lines with regular expressions and leaves defaults as source text). A
parameter's type comes from its annotation when present, else from its default::

    partner: str | None = None        # STR, may be None
    period = "2026-10"                # PERIOD: a string default shaped YYYY-MM
    start = "2026-10-01"              # DATE: a string default shaped YYYY-MM-DD
    language: Literal["pl", "en"] = "pl"
    top = 10                          # INT
    partner: Required[str] = None     # STR, must be given (typing.Required)

``period`` is always a month and ``start``/``end`` always days, whatever their default (``None``
lets a notebook take either a month or a range of days).
"""

from __future__ import annotations

import ast
import datetime as dt
import difflib
import enum
import io
import re
import tokenize
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat

from privstats.exceptions import ParameterError, ReportError
from privstats.report.i18n import Language

PARAMETERS_TAG = "parameters"

_PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TRUE = frozenset({"true", "yes", "1", "on"})
_FALSE = frozenset({"false", "no", "0", "off"})

# Parameters whose allowed values the whole package fixes, whatever a notebook declares.
_FIXED_CHOICES: dict[str, tuple[str, ...]] = {"language": tuple(m.value for m in Language)}
_REQUIRED = ("Required", "typing.Required")


class ParameterKind(enum.StrEnum):
    """The value types a report parameter can have."""

    INT = "int"
    FLOAT = "float"
    BOOL = "bool"
    STR = "str"
    PERIOD = "period"  # a month, YYYY-MM
    DATE = "date"  # a day, YYYY-MM-DD, kept as text so that papermill injects it as a string

    @property
    def description(self) -> str:
        return {
            ParameterKind.INT: "an integer",
            ParameterKind.FLOAT: "a number",
            ParameterKind.BOOL: "true or false",
            ParameterKind.STR: "a text",
            ParameterKind.PERIOD: "a month written YYYY-MM",
            ParameterKind.DATE: "a date written YYYY-MM-DD",
        }[self]


# Parameters whose kind the whole package fixes when they are declared as text: a period is a
# month and start and end are days, also when their default is None.
_FIXED_KINDS: dict[str, ParameterKind] = {
    "period": ParameterKind.PERIOD,
    "start": ParameterKind.DATE,
    "end": ParameterKind.DATE,
}


@dataclass(frozen=True)
class NotebookParameter:
    """One parameter declared in a notebook's ``parameters`` cell."""

    name: str
    kind: ParameterKind
    default: Any
    nullable: bool = False
    choices: tuple[str, ...] | None = None
    help: str = ""
    # A required parameter has no usable default: a run must give it (``partner`` of a
    # partner's report: a default partner would send one partner's figures to another).
    required: bool = False

    def __post_init__(self) -> None:
        if self.choices is not None and self.kind is not ParameterKind.STR:
            raise ValueError("only text parameters can have a fixed set of choices")

    def check(self, value: object) -> Any:
        """``value`` as this parameter's type, or a ``ParameterError`` (the value is not echoed)."""
        if value is None:
            if self.nullable:
                return None
            raise ParameterError(f"parameter '{self.name}' must be {self._expected()}, not None")
        kind = self.kind
        ok = {
            ParameterKind.INT: isinstance(value, int) and not isinstance(value, bool),
            ParameterKind.FLOAT: isinstance(value, int | float) and not isinstance(value, bool),
            ParameterKind.BOOL: isinstance(value, bool),
            ParameterKind.STR: isinstance(value, str),
            ParameterKind.PERIOD: isinstance(value, str) and bool(_PERIOD.match(value)),
            ParameterKind.DATE: isinstance(value, str) and _is_date(value),
        }[kind]
        if not ok or (self.choices is not None and value not in self.choices):
            raise ParameterError(f"parameter '{self.name}' must be {self._expected()}")
        if kind is ParameterKind.FLOAT and isinstance(value, int | float):
            return float(value)
        return value

    def convert_text(self, text: str) -> Any:
        """Convert a command-line ``-p name=text`` value to this parameter's type."""
        kind = self.kind
        if self.nullable and text.lower() in ("none", "null"):
            return None
        try:
            if kind is ParameterKind.INT:
                return self.check(int(text))
            if kind is ParameterKind.FLOAT:
                return self.check(float(text))
        except ValueError:
            raise ParameterError(f"parameter '{self.name}' must be {self._expected()}") from None
        if kind is ParameterKind.BOOL:
            lowered = text.strip().lower()
            if lowered in _TRUE:
                return True
            if lowered in _FALSE:
                return False
            raise ParameterError(f"parameter '{self.name}' must be {self._expected()}")
        return self.check(text)

    def _expected(self) -> str:
        if self.choices is not None:
            return "one of " + ", ".join(self.choices)
        return self.kind.description + (" or None" if self.nullable else "")


def _is_date(text: str) -> bool:
    if not _DATE.match(text):
        return False
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def parameters_cell(notebook: nbformat.NotebookNode) -> str | None:
    """The source of the first cell tagged ``parameters``, or None."""
    for cell in notebook.cells:
        if PARAMETERS_TAG in cell.get("metadata", {}).get("tags", []):
            return str(cell.source)
    return None


def read_parameters(notebook_path: Path) -> dict[str, NotebookParameter]:
    """The parameters a notebook declares, in their order; a ``ReportError`` if it declares none.

    Every statement of the cell must be a plain assignment of a literal (or an import, for an
    annotation such as ``Literal``): a parameter whose type cannot be read would make
    the type checks below meaningless.
    """
    name = notebook_path.stem
    try:
        notebook = nbformat.read(notebook_path, as_version=4)
    except FileNotFoundError:
        raise ReportError(f"report notebook '{name}' does not exist") from None
    except Exception as exc:  # nbformat raises several unrelated types for a damaged file
        raise ReportError(
            f"report notebook '{name}' cannot be read ({type(exc).__name__})"
        ) from None
    source = parameters_cell(notebook)
    if source is None:
        raise ReportError(f"report notebook '{name}' has no cell tagged '{PARAMETERS_TAG}'")
    return declared_parameters(source, notebook=name)


def declared_parameters(source: str, *, notebook: str = "notebook") -> dict[str, NotebookParameter]:
    """Parse the source of a ``parameters`` cell."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        raise ReportError(f"the parameters cell of '{notebook}' is not valid Python") from None
    comments = _trailing_comments(source)
    found: dict[str, NotebookParameter] = {}
    for node in tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            continue
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            target, annotation, value = node.target.id, node.annotation, node.value
        elif (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
        ):
            target, annotation, value = node.targets[0].id, None, node.value
        else:
            raise ReportError(
                f"the parameters cell of '{notebook}' may hold only assignments of literals "
                f"(line {node.lineno})"
            )
        if value is None:
            raise ReportError(f"parameter '{target}' of '{notebook}' has no default value")
        try:
            default = ast.literal_eval(value)
        except ValueError:
            raise ReportError(
                f"the default of parameter '{target}' of '{notebook}' is not a literal"
            ) from None
        parameter = _parameter(target, annotation, default, comments.get(node.lineno, ""))
        if parameter.required:
            if default is not None:
                raise ReportError(
                    f"the default of required parameter '{target}' of '{notebook}' must be None"
                )
            found[target] = parameter
            continue
        try:
            parameter.check(default)
        except ParameterError:
            raise ReportError(
                f"the default of parameter '{target}' of '{notebook}' does not fit its type"
            ) from None
        found[target] = parameter
    return found


def _parameter(
    name: str, annotation: ast.expr | None, default: Any, help_text: str
) -> NotebookParameter:
    nullable = default is None
    choices: tuple[str, ...] | None = None
    kind: ParameterKind | None = None
    required = False
    if isinstance(annotation, ast.Subscript) and _dotted(annotation.value) in _REQUIRED:
        required, annotation = True, annotation.slice
    if annotation is not None:
        kind, ann_nullable, choices = _read_annotation(name, annotation)
        nullable = nullable or ann_nullable
    nullable = nullable and not required
    if kind is None:
        kind = _kind_of_default(name, default)
    if name in _FIXED_CHOICES:
        choices = _FIXED_CHOICES[name]
        kind = ParameterKind.STR
    if kind is ParameterKind.STR and isinstance(default, str):
        if _PERIOD.match(default):
            kind = ParameterKind.PERIOD
        elif _is_date(default):
            kind = ParameterKind.DATE
    if name in _FIXED_KINDS and kind in (ParameterKind.STR, _FIXED_KINDS[name]):
        kind = _FIXED_KINDS[name]
    return NotebookParameter(name, kind, default, nullable, choices, help_text, required)


_SIMPLE = {
    "int": ParameterKind.INT,
    "float": ParameterKind.FLOAT,
    "bool": ParameterKind.BOOL,
    "str": ParameterKind.STR,
}


def _read_annotation(
    name: str, annotation: ast.expr
) -> tuple[ParameterKind | None, bool, tuple[str, ...] | None]:
    """(kind, nullable, choices) from an annotation such as ``str | None`` or ``Literal[...]``."""
    parts = _union_members(annotation)
    nullable = any(isinstance(p, ast.Constant) and p.value is None for p in parts)
    parts = [p for p in parts if not (isinstance(p, ast.Constant) and p.value is None)]
    if len(parts) != 1:
        raise ReportError(f"parameter '{name}' has an annotation privstats cannot check")
    part = parts[0]
    if isinstance(part, ast.Name) and part.id in _SIMPLE:
        return _SIMPLE[part.id], nullable, None
    if isinstance(part, ast.Subscript) and _dotted(part.value) in ("Literal", "typing.Literal"):
        values = _literal_members(part.slice)
        texts = [v for v in values if isinstance(v, str)]
        if values and len(texts) == len(values):
            return ParameterKind.STR, nullable, tuple(texts)
    raise ReportError(f"parameter '{name}' has an annotation privstats cannot check")


def _union_members(node: ast.expr) -> list[ast.expr]:
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return _union_members(node.left) + _union_members(node.right)
    if isinstance(node, ast.Subscript) and _dotted(node.value) in ("Optional", "typing.Optional"):
        return [node.slice, ast.Constant(value=None)]
    return [node]


def _literal_members(node: ast.expr) -> list[object]:
    elements = node.elts if isinstance(node, ast.Tuple) else [node]
    return [e.value for e in elements if isinstance(e, ast.Constant)]


def _dotted(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return ""


def _kind_of_default(name: str, default: Any) -> ParameterKind:
    if isinstance(default, bool):
        return ParameterKind.BOOL
    if isinstance(default, int):
        return ParameterKind.INT
    if isinstance(default, float):
        return ParameterKind.FLOAT
    if isinstance(default, str) or default is None:
        return ParameterKind.STR
    raise ReportError(
        f"parameter '{name}' has a default of a type reports do not take "
        f"({type(default).__name__}); use int, float, bool or str"
    )


def _trailing_comments(source: str) -> dict[int, str]:
    """Line number → the comment on that line (papermill shows these as the parameter's help)."""
    comments = {}
    tokens = tokenize.generate_tokens(io.StringIO(source).readline)
    for token in tokens:
        if token.type == tokenize.COMMENT:
            comments[token.start[0]] = token.string.lstrip("#").strip()
    return comments


def parse_assignments(assignments: Iterable[str]) -> dict[str, str]:
    """``["partner=acme", "top=5"]`` (from ``-p``) as a mapping of texts; a repeated name fails."""
    parsed: dict[str, str] = {}
    for item in assignments:
        name, sep, text = item.partition("=")
        name = name.strip()
        if not sep or not name.isidentifier():
            raise ParameterError("a parameter is given as -p name=value")
        if name in parsed:
            raise ParameterError(f"parameter '{name}' is given twice")
        parsed[name] = text
    return parsed


def convert_texts(
    declared: Mapping[str, NotebookParameter], texts: Mapping[str, str], *, notebook: str
) -> dict[str, Any]:
    """Command-line texts converted to the declared types (unknown names fail first)."""
    _refuse_unknown(declared, texts, notebook)
    return {name: declared[name].convert_text(text) for name, text in texts.items()}


def validate(
    declared: Mapping[str, NotebookParameter], given: Mapping[str, object], *, notebook: str
) -> dict[str, Any]:
    """The complete, checked parameter set: declared defaults overridden by ``given``."""
    _refuse_unknown(declared, given, notebook)
    values = {name: p.default for name, p in declared.items()}
    for name, value in given.items():
        values[name] = declared[name].check(value)
    for name, parameter in declared.items():
        if parameter.required and values[name] is None:
            raise ParameterError(f"report '{notebook}' needs parameter '{name}'")
    return values


def _refuse_unknown(
    declared: Mapping[str, NotebookParameter], given: Iterable[str], notebook: str
) -> None:
    for name in given:
        if name in declared:
            continue
        if not (isinstance(name, str) and name.isidentifier() and len(name) <= 64):
            raise ParameterError(
                f"report '{notebook}' was given a parameter name that is not valid"
            )
        close = difflib.get_close_matches(name, list(declared), n=1, cutoff=0.6)
        hint = (
            f"did you mean '{close[0]}'?"
            if close
            else "it declares: " + ", ".join(sorted(declared))
        )
        raise ParameterError(f"report '{notebook}' has no parameter '{name}'; {hint}")


def period_days(period: str) -> tuple[dt.date, dt.date]:
    """The first and last day of a ``YYYY-MM`` period (for ``crosstab(start=..., end=...)``)."""
    if not isinstance(period, str) or not _PERIOD.match(period):
        raise ParameterError("a period is a month written YYYY-MM")
    first = dt.date.fromisoformat(period + "-01")
    following = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return first, following - dt.timedelta(days=1)
