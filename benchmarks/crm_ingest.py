"""CRM ingest throughput: CSV exports, and optionally the same records from PostgreSQL.

Builds a CRM of ``--accounts`` accounts in 2,000 organisations, ``--events`` activity events
over ``--days`` days and one contact form per ten accounts, writes it as CSV exports, then prints
for each source: the time to read and validate every record, the time of a whole ingest into a
fresh store (validate, pseudonymise, write, commit), records per second, and the peak memory of
the process that did it (bounded by ``[crm] batch_rows`` and the store's write buffer, not by the
number of events).

With ``--dsn postgresql://USER:PASSWORD@HOST:PORT/DB`` (a database the user may create a schema
in) the exports are also copied into all-text tables of a schema ``privstats_bench`` and read
back through the PostgreSQL source; the schema is dropped afterwards.

Run: ``.venv/bin/python benchmarks/crm_ingest.py [--accounts 100000] [--events 2000000]``
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import secrets
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl

from privstats.config import Config, CrmConfig, CrmKind
from privstats.crm import ingest_crm
from privstats.key import SecretKey
from privstats.sources.crm_files import CrmFiles
from privstats.sources.crm_records import CrmSource
from privstats.sources.crm_sql import CrmDatabase

ORGANISATIONS = 2000
START = np.datetime64("2026-10-01T00:00:00", "s")


def build(folder: Path, accounts: int, events: int, days: int) -> dict[str, int]:
    rng = np.random.default_rng(7)
    folder.mkdir(parents=True, exist_ok=True)
    pl.DataFrame(
        {
            "org_id": np.arange(1, ORGANISATIONS + 1),
            "name": [f"Firma {i} Sp. z o.o." for i in range(ORGANISATIONS)],
            "size_band": rng.choice(["1-9", "10-49", "50-249", "250+"], ORGANISATIONS),
            "industry": rng.choice(["retail", "finance", "it_services"], ORGANISATIONS),
            "partner": rng.choice(["acme", "nordic", "baltic", "vistula"], ORGANISATIONS),
        }
    ).write_csv(folder / "organisations.csv")
    created = START - rng.integers(0, 5 * 365 * 86400, accounts).astype("timedelta64[s]")
    pl.DataFrame(
        {
            "account_id": np.arange(100_000, 100_000 + accounts),
            "first_name": "Jan",
            "last_name": [f"Nowak{i}" for i in range(accounts)],
            "email": [f"user{i}@example.org" for i in range(accounts)],
            "signup_channel": rng.choice(["email", "google", "facebook", "hubspot"], accounts),
            "created_at": [f"{t}+00:00" for t in created.astype(str)],
            "closed_at": None,
            "org_id": rng.integers(1, ORGANISATIONS + 1, accounts),
            "plan": rng.choice(["free", "team", "business", "enterprise"], accounts),
            "consent_statistics": rng.random(accounts) > 0.05,
            "consent_publication": True,
            "country": rng.choice(["PL", "DE", "GB"], accounts),
        }
    ).write_csv(folder / "accounts.csv")
    owner = rng.integers(0, accounts, events)
    occurred = np.sort(START + rng.integers(0, days * 86400, events).astype("timedelta64[s]"))
    org_of = pl.read_csv(folder / "accounts.csv", columns=["org_id"])["org_id"].to_numpy()
    pl.DataFrame(
        {
            "occurred_at": [f"{t}+00:00" for t in occurred.astype(str)],
            "org_id": org_of[owner],
            "account_id": 100_000 + owner,
            "module": rng.choice(["contacts", "deals", "tasks", "invoices"], events),
            "action": rng.choice(["view", "create", "update", "export"], events),
            "records_affected": rng.integers(1, 50, events),
            "source": rng.choice(["web", "api", "mobile"], events),
        }
    ).write_csv(folder / "activity.csv")
    forms = max(1, accounts // 10)
    submitted = np.sort(START + rng.integers(0, days * 86400, forms).astype("timedelta64[s]"))
    pl.DataFrame(
        {
            "submitted_at": [f"{t}+00:00" for t in submitted.astype(str)],
            "email": [f"user{i}@example.org" for i in rng.integers(0, accounts, forms)],
            "first_name": "Jan",
            "last_name": "Nowak",
            "client_ip": [f"203.0.{i % 256}.{i % 250 + 1}" for i in range(forms)],
            "topic": rng.choice(["sales", "support", "billing"], forms),
            "message": "Dzień dobry, proszę o kontakt.",
        }
    ).write_csv(folder / "contact_forms.csv")
    return {"organisations": ORGANISATIONS, "accounts": accounts, "activity": events,
            "contact_forms": forms}  # fmt: skip


def measure(name: str, folder: Path, records: int, dsn: str | None, crm: CrmConfig) -> None:
    """Runs in a fresh process, so that its peak memory is the ingest's own."""
    factory: Callable[[], CrmSource] = (
        (lambda: CrmDatabase(dsn, crm)) if dsn else (lambda: CrmFiles(folder, crm=crm))
    )
    started = time.perf_counter()
    with factory() as source:
        for kind in CrmKind:
            for _ in source.records(kind):
                pass
    read = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as store:
        config = Config().with_store(Path(store))
        started = time.perf_counter()
        result = ingest_crm(config, SecretKey(secrets.token_bytes(32)), factory())
        whole = time.perf_counter() - started
    stored = sum(r.rows for r in result.kinds.values())
    peak = _peak_megabytes()
    print(
        f"{name:<11} read+validate {read:6.2f} s ({records / read:>9,.0f} records/s)  "
        f"ingest {whole:6.2f} s ({records / whole:>9,.0f} records/s, {stored:,} rows stored)  "
        f"peak memory {peak:,.0f} MB",
        flush=True,
    )


def _peak_megabytes() -> float:
    """This process's peak resident memory (Linux: VmHWM, which a new program starts afresh)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def in_fresh_process(*args: object) -> None:
    process = multiprocessing.get_context("spawn").Process(target=measure, args=args)
    process.start()
    process.join()
    if process.exitcode:
        raise SystemExit(f"the measurement failed (exit code {process.exitcode})")


def copy_into(dsn: str, folder: Path) -> CrmConfig:
    import psycopg
    from psycopg import sql

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("DROP SCHEMA IF EXISTS privstats_bench CASCADE")
        conn.execute("CREATE SCHEMA privstats_bench")
        for kind in CrmKind:
            path = folder / f"{kind.value}.csv"
            header = path.open().readline().strip().split(",")
            table = sql.Identifier("privstats_bench", kind.value)
            columns = sql.SQL(", ").join(
                sql.SQL("{} text").format(sql.Identifier(c)) for c in header
            )
            conn.execute(sql.SQL("CREATE TABLE {} ({})").format(table, columns))
            copy = sql.SQL("COPY {} FROM STDIN WITH (FORMAT csv, HEADER true)").format(table)
            with conn.cursor() as cur, cur.copy(copy) as copier, path.open("rb") as data:
                while chunk := data.read(1 << 20):
                    copier.write(chunk)
    return CrmConfig(tables={k.value: f"privstats_bench.{k.value}" for k in CrmKind})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=2_000_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--dsn", help="a PostgreSQL database to copy the exports into")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "crm"
        started = time.perf_counter()
        sizes = build(folder, args.accounts, args.events, args.days)
        records = sum(sizes.values())
        megabytes = sum(p.stat().st_size for p in folder.iterdir()) / 1e6
        print(
            f"built {records:,} records ({megabytes:,.0f} MB of CSV) "
            f"in {time.perf_counter() - started:.1f} s"
        )
        in_fresh_process("csv", folder, records, None, CrmConfig())
        if args.dsn:
            crm = copy_into(args.dsn, folder)
            in_fresh_process("postgresql", folder, records, args.dsn, crm)
            import psycopg

            with psycopg.connect(args.dsn, autocommit=True) as conn:
                conn.execute("DROP SCHEMA privstats_bench CASCADE")


if __name__ == "__main__":
    main()
