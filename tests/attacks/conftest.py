"""The attacker's workbench: hand-made inputs, the real command line, and released files only.

Every attack module builds a :class:`World` in a temporary folder (``privstats init``, a
throw-away key, hand-written access logs and CRM exports, ``privstats ingest``), runs reports
through ``privstats report`` and releases them through ``privstats release``, exactly as an
operator would. The attacker then reads only what a partner holds: the CSV files under
``reports/released/...`` (:meth:`World.released`). What the attacker computes from them goes
through :class:`Attacker`, a linear program over the hidden cells: a value the attacker pins
is one whose interval is a point; a small group stays protected while the attacker can
neither pin it nor bound it below the threshold (:func:`protected`).

:func:`queries_notebook` is a report notebook that publishes any list of
``privstats.crosstab`` queries given as JSON (``-p tables=...``, see :meth:`World.probe`): any
notebook the runner executes can be released, so an attack may ask for whatever tables suit
it.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import json
import os
import shutil
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import linprog

from privstats.cli import main

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO / "notebooks"
MISSING = "."

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0"
CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36"
)
SAFARI = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_1) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.1 Safari/605.1.15"
)
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1"
)
BOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"

# Notebook publishing the tables of a JSON list: [{"name": ..., "query": {crosstab kwargs}}].
# In ``where``, {"not": v} is Not(v) and {"between": [a, b]} is Between(a, b).
_QUERIES_SOURCE = [
    "start = '2026-10-01'  # first day\n"
    "end = '2026-10-31'  # last day\n"
    "tables = '[]'  # JSON list of {name, query}\n"
    "language = 'en'  # pl or en\n"
    "store_path = ''  # set by the runner\n",
    "import json\n"
    "import privstats\n"
    "from privstats.report import publish\n"
    "from privstats.tabulate import Between, Not\n"
    "\n"
    "def typed(value):\n"
    "    if isinstance(value, dict) and 'not' in value:\n"
    "        return Not(typed(value['not']))\n"
    "    if isinstance(value, dict) and 'between' in value:\n"
    "        return Between(*value['between'])\n"
    "    return value\n"
    "\n"
    "for spec in json.loads(tables):\n"
    "    query = {'start': start, 'end': end, **spec['query']}\n"
    "    if 'where' in query:\n"
    "        query['where'] = {k: typed(v) for k, v in query['where'].items()}\n"
    "    table = privstats.crosstab(store=store_path or None, **query)\n"
    "    publish(table, name=spec['name'], title=spec['name'], unit='units')\n",
]


def queries_notebook() -> dict[str, Any]:
    cells = []
    for number, source in enumerate(_QUERIES_SOURCE):
        cells.append(
            {
                "cell_type": "code",
                "execution_count": None,
                "id": f"cell{number}",
                "metadata": {"tags": ["parameters"]} if number == 0 else {},
                "outputs": [],
                "source": source,
            }
        )
    return {
        "cells": [
            {"cell_type": "markdown", "id": "title", "metadata": {},
             "source": "# Attack probe\nPublishes the tables given as JSON."},
            *cells,
        ],
        "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python",
                                    "name": "python3"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }  # fmt: skip


# --- inputs ----------------------------------------------------------------------------------


def log_line(
    ip: str,
    when: dt.datetime,
    *,
    path: str = "/pricing",
    agent: str = FIREFOX,
    status: int = 200,
    size: int = 512,
    login: str = "-",
    micros: int | None = None,
) -> str:
    """One access-log line: ``combined``, or ``combined_D`` when ``micros`` is given."""
    stamp = when.strftime("%d/%b/%Y:%H:%M:%S +0000")
    line = f'{ip} - {login} [{stamp}] "GET {path} HTTP/1.1" {status} {size} "-" "{agent}"'
    return line if micros is None else f"{line} {micros}"


def at(day: int, hour: int = 10, minute: int = 0, second: int = 0) -> dt.datetime:
    """A time on ``day`` October 2026, UTC."""
    return dt.datetime(2026, 10, day, hour, minute, second, tzinfo=dt.UTC)


def ips(prefix: str, count: int, start: int = 1) -> list[str]:
    """``count`` addresses ``prefix.start`` ... (``prefix`` has three octets)."""
    return [f"{prefix}.{i}" for i in range(start, start + count)]


def crowd(prefix: str, count: int, day: int, **line: Any) -> list[str]:
    """``count`` visitors from distinct addresses, one request each, on ``day``."""
    return [log_line(ip, at(day, 10, i % 60), **line) for i, ip in enumerate(ips(prefix, count))]


# CRM export columns (privstats.synth.crm.COLUMNS).
_CRM_COLUMNS = {
    "organisations": ("org_id", "name", "size_band", "industry", "partner"),
    "accounts": ("account_id", "first_name", "last_name", "email", "signup_channel",
                 "created_at", "closed_at", "org_id", "plan", "consent_statistics",
                 "consent_publication", "country"),
    "contact_forms": ("submitted_at", "email", "first_name", "last_name", "client_ip", "topic",
                      "message"),
    "activity": ("occurred_at", "org_id", "account_id", "module", "action", "records_affected",
                 "source"),
}  # fmt: skip


@dataclass
class Crm:
    """A CRM export being written by hand: organisations, accounts and their activity."""

    organisations: list[dict[str, Any]] = field(default_factory=list)
    accounts: list[dict[str, Any]] = field(default_factory=list)
    activity: list[dict[str, Any]] = field(default_factory=list)
    contact_forms: list[dict[str, Any]] = field(default_factory=list)

    def organisation(self, org_id: int, partner: str, size_band: str = "10-49") -> int:
        self.organisations.append(
            {"org_id": org_id, "name": f"Org {org_id}", "size_band": size_band,
             "industry": "retail", "partner": partner}
        )  # fmt: skip
        return org_id

    def person(
        self, org_id: int, *, channel: str = "email", plan: str = "team", day: int = 5
    ) -> int:
        """A new account (its own e-mail) in ``org_id``, signed up on ``day`` October."""
        account = 1000 + len(self.accounts)
        self.accounts.append(
            {"account_id": account, "first_name": "A", "last_name": f"B{account}",
             "email": email(account), "signup_channel": channel,
             "created_at": f"2026-10-{day:02d}T08:00:00+00:00", "closed_at": None,
             "org_id": org_id, "plan": plan, "consent_statistics": True,
             "consent_publication": True, "country": "PL"}
        )  # fmt: skip
        return account

    def act(
        self,
        account: int,
        module: str,
        *,
        day: int = 6,
        action: str = "view",
        source: str = "web",
        records: int = 1,
        times: int = 1,
    ) -> None:
        org = next(a["org_id"] for a in self.accounts if a["account_id"] == account)
        for n in range(times):
            self.activity.append(
                {"occurred_at": f"2026-10-{day:02d}T{9 + n // 60:02d}:{n % 60:02d}:00+00:00",
                 "org_id": org, "account_id": account, "module": module, "action": action,
                 "records_affected": records, "source": source}
            )  # fmt: skip

    def write(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        for kind, columns in _CRM_COLUMNS.items():
            with (folder / f"{kind}.csv").open("w", encoding="utf-8", newline="") as handle:
                writer = csv.writer(handle, lineterminator="\n")
                writer.writerow(columns)
                for record in getattr(self, kind):
                    writer.writerow([_csv(record.get(c)) for c in columns])
        return folder


def email(account: int) -> str:
    return f"person{account}@example.org"


def _csv(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# --- the world: configuration, store, reports, releases --------------------------------------


@dataclass
class Released:
    """One released table as the partner holds it: row labels, column labels, cells (text)."""

    file: Path
    header: list[str]
    rows: list[list[str]]

    @classmethod
    def read(cls, file: Path) -> Released:
        text = file.read_bytes().decode("utf-8-sig")
        lines = list(csv.reader(io.StringIO(text, newline="")))
        return cls(file, lines[0], lines[1:])

    def cell(self, row: str | Sequence[str], column: str | None = None) -> str:
        """The text of the cell in the row labelled ``row`` (one label per index level) and
        the column headed ``column`` (default: the only value column)."""
        labels = [row] if isinstance(row, str) else list(row)
        width = len(labels)
        for line in self.rows:
            if line[:width] == labels:
                at = width if column is None else self.header.index(column)
                return line[at]
        raise KeyError(f"no row {labels} in {self.file.name}")

    def code(self, family: str) -> str:
        """The row label of a browser ``family`` in a table by browser and major version
        ("Firefox" is the row "Firefox 120"); the family itself when no row has it (the table
        then says nobody of it came, and ``Attacker.cell`` reads 0)."""
        for line in self.rows:
            if line[0] == family or line[0].rsplit(" ", 1)[0] == family:
                return line[0]
        return family

    def has(self, row: str | Sequence[str]) -> bool:
        """Whether a row of that label is published (a code without data has no row)."""
        labels = [row] if isinstance(row, str) else list(row)
        return any(line[: len(labels)] == labels for line in self.rows)

    def value(self, row: str | Sequence[str], column: str | None = None) -> float | None:
        """The number in a cell, or None where it is hidden (or not a number)."""
        text = self.cell(row, column)
        try:
            return float(text)
        except ValueError:
            return None


@dataclass
class World:
    """A privstats working folder of its own: configuration, key, store, reports."""

    root: Path
    settings: Mapping[str, str] = field(default_factory=dict)
    key_file: Path = field(init=False)
    config: Path = field(init=False)
    notebooks: Path = field(init=False)  # the attack's own report notebooks
    outputs: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.key_file = self.root.parent / f"{self.root.name}-key" / "key"
        self.config = self.root / "privstats.toml"
        assert self.cli("init", "--path", str(self.config)) == 0
        text = self.config.read_text(encoding="utf-8")
        # The crafted logs use a handful of /24s, which the networks rule (on by default)
        # would hide wholesale; attacks on the linked sets run without it, those on padding
        # with it (settings={"network": "true", "min_segment_networks": "3"}).
        for name, value in {"network": "false", "min_segment_networks": "1",
                            **self.settings}.items():  # fmt: skip
            lines = [line for line in text.splitlines() if line.startswith(f"{name} = ")]
            assert len(lines) == 1, name
            text = text.replace(lines[0], f"{name} = {value}")
        self.config.write_text(text, encoding="utf-8")
        self.notebooks = self.root / "attack-notebooks"
        self.notebooks.mkdir()

    def clone(self, root: Path) -> World:
        """A copy of this world (store, key, reports, releases) at ``root``: an attack may then
        go one way here and another way there from the same releases."""
        shutil.copytree(self.root, root)
        shutil.copytree(self.key_file.parent, root.parent / f"{root.name}-key")
        copy = object.__new__(World)
        copy.root, copy.settings, copy.outputs = root, dict(self.settings), []
        copy.key_file = root.parent / f"{root.name}-key" / "key"
        copy.config = root / "privstats.toml"
        copy.notebooks = root / "attack-notebooks"
        return copy

    # -- the command line -------------------------------------------------------------------
    @contextlib.contextmanager
    def _here(self) -> Iterator[None]:
        before = os.getcwd()
        old_key = os.environ.get("PRIVSTATS_KEY_FILE")
        os.environ["PRIVSTATS_KEY_FILE"] = str(self.key_file)
        os.chdir(self.root)
        try:
            yield
        finally:
            os.chdir(before)
            if old_key is None:
                os.environ.pop("PRIVSTATS_KEY_FILE", None)
            else:
                os.environ["PRIVSTATS_KEY_FILE"] = old_key

    def cli(self, *args: str) -> int:
        """``privstats ARGS`` in this world's folder; the output is kept in ``outputs``."""
        out, err = io.StringIO(), io.StringIO()
        with self._here(), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            config = ["--config", str(self.config)] if args[0] != "init" else []
            code = main([*config, "-q", *args] if args[0] != "init" else list(args))
        self.outputs.append(out.getvalue() + err.getvalue())
        return code

    # -- inputs -----------------------------------------------------------------------------
    def ingest_log(self, lines: Sequence[str], name: str, log_format: str = "combined") -> None:
        path = self.root / "inputs" / f"{name}.log"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        code = self.cli("ingest", "access", "--format", log_format, str(path))
        assert code == 0, self.outputs[-1]

    def ingest_crm(self, crm: Crm, name: str = "crm") -> None:
        folder = crm.write(self.root / "inputs" / name)
        code = self.cli("ingest", "crm", "--from", str(folder), "--format", "csv")
        assert code == 0, self.outputs[-1]

    def erase(self, *emails: str) -> None:
        args = [a for e in emails for a in ("--email", e)]
        assert self.cli("erase", *args) == 0, self.outputs[-1]

    # -- reports ----------------------------------------------------------------------------
    @property
    def reports(self) -> Path:
        return self.root / "reports"

    @property
    def released_root(self) -> Path:
        return self.reports / "released"

    def report(
        self,
        name: str,
        *params: str,
        partner: str | None = None,
        period: str | None = None,
        all_partners: bool = False,
        notebooks: Path = NOTEBOOKS,
        force: bool = True,
    ) -> int:
        """``privstats report NAME``: its exit code (0 when written)."""
        args = ["report", name, "--language", "en", "--out", str(self.reports),
                "--notebooks", str(notebooks)]  # fmt: skip
        if partner:
            args += ["--partner", partner]
        if all_partners:
            args += ["--all-partners", "--workers", "1"]
        if period:
            args += ["--period", period]
        if force:
            args.append("--force")
        for param in params:
            args += ["-p", param]
        return self.cli(*args)

    def probe(
        self,
        name: str,
        tables: Sequence[Mapping[str, Any]],
        *,
        start: str = "2026-10-01",
        end: str = "2026-10-31",
        written: bool = True,
    ) -> Path:
        """A report of the given ``crosstab`` queries (``[{"name", "query"}]``), written by
        ``privstats report`` from a notebook of that name; its folder. ``written=False``
        allows the report to fail (every table withheld, say)."""
        path = self.notebooks / f"{name}.ipynb"
        path.write_text(json.dumps(queries_notebook(), indent=1), encoding="utf-8")
        code = self.report(
            name, f"start={start}", f"end={end}", f"tables={json.dumps(list(tables))}",
            notebooks=self.notebooks,
        )  # fmt: skip
        assert code == 0 or not written, self.outputs[-1]
        return self.folder(name, None, f"{start}_{end}")

    def folder(self, name: str, partner: str | None, period: str) -> Path:
        return self.reports / name / (partner or "all") / period / "en"

    def release(self, folder: Path) -> bool:
        """``privstats release FOLDER``: whether the gate let it out (a report that was not
        written is not)."""
        if not folder.is_dir():
            return False
        code = self.cli(
            "release", str(folder), "--reviewer", "Attack Suite", "--released",
            str(self.released_root),
        )  # fmt: skip
        assert code in (0, 1), self.outputs[-1]
        return code == 0

    def released(self, report: str, table: str, partner: str | None = None) -> list[Released]:
        """Every released copy of ``table`` of ``report`` (for ``partner``; ``"all"``: the
        whole-service report), oldest first: what the partners hold."""
        ledger = self.released_root / "ledger.jsonl"
        if not ledger.is_file():
            return []
        found = []
        for line in ledger.read_text(encoding="utf-8").splitlines():
            entry = json.loads(line)
            folder = self.released_root / entry["folder"] if "folder" in entry else None
            if folder is None or f"/{report}/" not in f"/{entry['folder']}/":
                continue
            if partner is not None and f"/{partner}/" not in f"/{entry['folder']}/":
                continue
            file = folder / f"{table}.csv"
            if file.is_file():
                found.append(Released.read(file))
        return found

    def latest(self, report: str, table: str, partner: str | None = None) -> Released | None:
        copies = self.released(report, table, partner)
        return copies[-1] if copies else None


# --- the attacker ----------------------------------------------------------------------------

# A linear expression over the attacker's unknowns: name -> coefficient; "" holds the constant.
Expr = dict[str, float]


def const(value: float) -> Expr:
    return {"": float(value)}


def plus(*exprs: Expr, scale: Sequence[float] | None = None) -> Expr:
    """The sum of ``exprs`` (each times its ``scale``, default 1)."""
    out: Expr = {}
    for expr, factor in zip(exprs, scale or [1.0] * len(exprs), strict=True):
        for name, coefficient in expr.items():
            out[name] = out.get(name, 0.0) + factor * coefficient
    return out


def minus(a: Expr, b: Expr) -> Expr:
    return plus(a, b, scale=[1.0, -1.0])


@dataclass
class Attacker:
    """What a partner derives from released numbers: a linear program over what is hidden.

    :meth:`cell` reads one cell of a released table: a shown number is a constant, a row the
    table does not have is zero, a hidden cell an unknown (not negative). :meth:`same` records
    that two expressions are equal (one population seen in two tables, a total and its
    parts), and :meth:`interval` gives the attacker's tightest range of any expression."""

    unknowns: dict[str, tuple[float, float | None]] = field(default_factory=dict)
    equations: list[Expr] = field(default_factory=list)

    def unknown(self, name: str, low: float = 0.0, high: float | None = None) -> Expr:
        self.unknowns.setdefault(name, (low, high))
        return {name: 1.0}

    def cell(
        self, table: Released, row: str | Sequence[str], column: str | None = None, *,
        name: str | None = None,
    ) -> Expr:  # fmt: skip
        if not table.has(row) or table.cell(row, column) == MISSING:
            return const(0)  # nobody of that code in the table's population
        value = table.value(row, column)
        if value is not None:
            return const(value)
        label = row if isinstance(row, str) else "/".join(row)
        return self.unknown(name or f"{table.file.parent.name}/{table.file.stem}:{label}:{column}")

    def same(self, a: Expr, b: Expr) -> None:
        self.equations.append(minus(a, b))

    def interval(self, expr: Expr) -> tuple[float, float]:
        """The smallest and largest value of ``expr`` consistent with everything known."""
        names = sorted({n for e in [*self.equations, expr] for n in e if n} | set(self.unknowns))
        for name in names:
            self.unknowns.setdefault(name, (0.0, None))
        column = {name: i for i, name in enumerate(names)}
        if not names:
            return expr.get("", 0.0), expr.get("", 0.0)
        a_eq = np.zeros((len(self.equations), len(names)))
        b_eq = np.zeros(len(self.equations))
        for i, equation in enumerate(self.equations):
            for name, coefficient in equation.items():
                if name:
                    a_eq[i, column[name]] += coefficient
            b_eq[i] = -equation.get("", 0.0)
        cost = np.zeros(len(names))
        for name, coefficient in expr.items():
            if name:
                cost[column[name]] += coefficient
        ends = []
        for sign in (1.0, -1.0):
            result = linprog(
                sign * cost,
                A_eq=a_eq if self.equations else None,
                b_eq=b_eq if self.equations else None,
                bounds=[self.unknowns[n] for n in names],
                method="highs",
            )
            if result.status == 3:  # unbounded
                ends.append(-sign * np.inf)
                continue
            assert result.status == 0, result.message
            ends.append(sign * float(result.fun) + expr.get("", 0.0))
        return ends[0], ends[1]


def pinned(interval: tuple[float, float], tolerance: float = 1e-6) -> bool:
    """Whether an attacker's interval is a single value."""
    return interval[1] - interval[0] <= tolerance


def protected(interval: tuple[float, float], threshold: int = 10) -> bool:
    """Whether a group of fewer than ``threshold`` persons stays unrecovered: the attacker can
    neither pin it nor bound it below the threshold (that it is not empty may show)."""
    return not pinned(interval) and interval[1] >= threshold


# --- a CRM of three partners -----------------------------------------------------------------

# Persons active in each module, per partner: every person in one module only, so that each
# partner's total is the sum of its modules. Small groups: acme's invoices (4), nordic's tasks
# (3), baltic's deals (3), and importers: baltic's 2 (pipedrive) and acme's 1 (subiekt).
MODULES = {
    "acme": {"contacts": 30, "deals": 20, "invoices": 4, "tasks": 15},
    "nordic": {"contacts": 25, "deals": 18, "invoices": 12, "tasks": 3},
    "baltic": {"contacts": 11, "deals": 3, "invoices": 14, "tasks": 12},
}
IMPORTERS = {
    "acme": {"import:hubspot": 12, "import:subiekt": 1},
    "nordic": {"import:salesforce": 11},
    "baltic": {"import:pipedrive": 2},
}


def persons_by_module() -> dict[str, dict[str, int]]:
    """The truth the partners' tables describe: persons per module ("imports" included)."""
    return {
        partner: {**modules, "imports": sum(IMPORTERS[partner].values())}
        for partner, modules in MODULES.items()
    }


def three_partners() -> Crm:
    crm = Crm()
    org_id = 0
    for partner, modules in MODULES.items():
        orgs = []
        for _ in range(4):
            org_id += 1
            orgs.append(crm.organisation(org_id, partner))
        k = 0
        for module, persons in modules.items():
            for i in range(persons):
                account = crm.person(orgs[k % 4], channel=("email", "google")[k % 2])
                crm.act(account, module, action=("view", "create")[i % 2], times=1 + i % 3)
                k += 1
        for source, persons in IMPORTERS[partner].items():
            for i in range(persons):
                account = crm.person(orgs[k % 4], channel=("email", "google")[k % 2])
                crm.act(account, "imports", action="create", source=source, records=10 + i)
                k += 1
    return crm
