"""Protected tables as pandas frames, with pandas' habits, over a real store."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from test_tabulate import AGENT, PHONE, line, store_with

import privstats
from privstats import tabulate
from privstats.config import Config
from privstats.exceptions import DisclosureError, NoDataError
from privstats.key import SecretKey
from privstats.store import Store

BOT = "Googlebot/2.1 (+http://www.google.com/bot.html)"


def hourly(client: str, hour: int, agent: str = AGENT) -> str:
    return line(client, 1, agent=agent).replace("12:00:00", f"{hour:02d}:00:00")


@pytest.fixture
def store(tmp_path: Path, config: Config, key: SecretKey) -> Store:
    # Hours 2, 10 and 23: 12 desktop visitors each; 3 phones at 10 (a hidden cell).
    lines = [hourly(f"198.51.100.{h * 20 + i}", h) for h in (2, 10, 23) for i in range(12)]
    lines += [hourly(f"203.0.113.{i}", 10, PHONE) for i in range(3)]
    return store_with(tmp_path, config, key, lines)


def test_a_one_dimensional_table_pivots_to_one_numeric_column(store: Store) -> None:
    table = tabulate.crosstab("hour", aggfunc="visitors", margins=True, store=store)
    wide = table.pivot()
    assert list(wide.columns) == ["visitors"]
    assert list(wide.index) == [2, 10, 23, "Total"], "hours in the day's order, the total last"
    assert wide["visitors"].dtype == float
    assert wide.loc[10, "visitors"] == 15


def test_hidden_cells_are_nan_with_a_mask_and_numbers_sort(store: Store) -> None:
    table = tabulate.crosstab("hour", "device", aggfunc="visitors", margins=True, store=store)
    wide, hidden = table.pivot(), table.mask()
    assert wide.shape == hidden.shape and list(wide.index) == [2, 10, 23, "Total"]
    assert hidden.loc[10, "mobile"] and math.isnan(wide.loc[10, "mobile"])
    assert all(dtype is pd.Float64Dtype() or dtype.kind == "f" for dtype in wide.dtypes)
    assert not hidden.loc[2, "desktop"] and wide.loc[2, "desktop"] == 12
    assert wide.sort_values("Total", ascending=False).index[0] == "Total"
    assert list(wide.sort_index(ascending=False).index) == ["Total", 23, 10, 2]


def test_normalize_divides_by_the_protected_totals(store: Store) -> None:
    table = tabulate.crosstab("hour", "device", aggfunc="visitors", margins=True, store=store)
    shares = table.pivot(normalize="index")
    assert shares.loc[2, "desktop"] == 1.0 and shares.loc[2, "Total"] == 1.0
    assert math.isnan(shares.loc[10, "mobile"]), "a hidden cell has no share"
    overall = tabulate.crosstab("hour", aggfunc="visitors", margins=True, store=store)
    assert overall.pivot(normalize=True).loc["Total", "visitors"] == 1.0
    unmargined = tabulate.crosstab("hour", "device", aggfunc="visitors", store=store)
    with pytest.raises(DisclosureError, match="margins=True"):
        unmargined.pivot(normalize="index")


def test_several_measures_at_once(store: Store) -> None:
    both = tabulate.crosstab("hour", aggfunc=["visitors", "requests"], margins=True, store=store)
    wide = both.pivot()
    assert list(wide.columns) == ["visitors", "requests"]
    assert wide.loc["Total"].tolist() == [39.0, 39.0]
    assert both["visitors"].record.query["measure"] == "visitors"


def test_fill_value_fills_absent_cells_never_hidden_ones(store: Store) -> None:
    table = tabulate.crosstab(["hour", "device"], aggfunc="visitors", store=store)
    wide = table.pivot("hour", "device", fill_value=0)
    assert math.isnan(wide.loc[10, "mobile"]), "hidden stays hidden"
    hidden = table.mask("hour", "device")
    assert (wide.isna() == hidden).all().all(), "only hidden cells are NaN"
    assert (wide.fillna(0) >= 0).all().all()


def test_a_compact_repr_and_an_escaped_html_view(
    tmp_path: Path, config: Config, key: SecretKey
) -> None:
    lines = [line(f"198.51.100.{i}", 1, path="/<script>") for i in range(12)]
    lines += [line(f"203.0.113.{i}", d, path=f"/p{i}") for i in range(200) for d in (1, 2)]
    store = store_with(tmp_path, config, key, lines)
    table = tabulate.crosstab("path", aggfunc="visitors", margins=True, store=store)
    text = repr(table)
    assert text.startswith("ProtectedTable: visitors by path with margins;")
    assert len(text) < 2_000 and text.count("\n") < 20
    page = table._repr_html_()
    assert "<script>" not in page and "&lt;script&gt;" in page


def test_tables_and_columns_describe_the_store() -> None:
    from privstats.schema import TABLES

    assert list(privstats.tables().index) == list(TABLES)
    for name, schema in TABLES.items():
        described = privstats.columns(name)
        assert set(schema.names) <= set(described.index)
        assert described["description"].str.len().min() > 5
    access = privstats.columns("access")
    assert access.loc["visitor", "use"] == "pseudonym" and access.loc["hour", "use"] == "dimension"
    with pytest.raises(DisclosureError, match="unknown table 'acces'"):
        privstats.columns("acces")


def test_the_store_is_found_from_a_notebooks_folder_below_the_configuration(
    tmp_path: Path, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PRIVSTATS_CONFIG", raising=False)
    (tmp_path / "privstats.toml").write_text(f'[store]\npath = "{store.root}"\n')
    (tmp_path / "notebooks").mkdir()
    monkeypatch.chdir(tmp_path / "notebooks")
    assert tabulate.crosstab("hour", aggfunc="visitors").pivot().loc[2, "visitors"] == 12
    (tmp_path / "privstats.toml").unlink()
    with pytest.raises(NoDataError, match=r"there is no privstats.toml in .*notebooks or a"):
        tabulate.crosstab("hour")


def test_no_solver_banner_reaches_standard_output(store: Store) -> None:
    code = (
        "import privstats\n"
        f"t = privstats.crosstab('hour', 'device', margins=True, store={str(store.root)!r})\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PRIVSTATS_CONFIG"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "" and "HiGHS" not in done.stderr
