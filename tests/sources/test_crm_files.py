from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path

import polars as pl
import pytest
from canaries import EMAILS, IPS, NAMES
from crm_exports import (
    KINDS,
    MALFORMED,
    MESSAGES,
    ORG_NAMES,
    PHONES,
    PLANTED,
    planted_leaks,
    write_exports,
)

from privstats.config import CrmConfig, CrmKind
from privstats.exceptions import InputError
from privstats.sources.crm_files import CrmFiles, ExportFormat, read_crm_exports
from privstats.sources.crm_schema import raw_schema

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"


def test_csv_and_jsonl_exports_give_the_same_records(tmp_path: Path) -> None:
    from_csv = read_crm_exports(write_exports(tmp_path / "csv", "csv"))
    from_jsonl = read_crm_exports(write_exports(tmp_path / "jsonl", "jsonl"))
    for kind in CrmKind:
        declared = pl.from_arrow(raw_schema(kind).empty_table())
        assert from_csv[kind].frame.schema == declared.schema  # type: ignore[union-attr]
        # The CSV header is line 1, so every record sits one line lower than in JSON lines.
        shifted = from_jsonl[kind].frame.with_columns(pl.col("line") + 1)
        assert from_csv[kind].frame.equals(shifted), kind
        assert from_csv[kind].tally.quarantine.counts == from_jsonl[kind].tally.quarantine.counts


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_problems_name_file_line_and_column_but_never_the_value(tmp_path: Path, fmt: str) -> None:
    records = read_crm_exports(write_exports(tmp_path / "crm", fmt))
    offset = 0 if fmt == "csv" else 1
    for kind in KINDS:
        tally = records[CrmKind(kind)].tally
        expected = [
            f"{kind}.{fmt} line {line - offset}, column {column}: {reason}"
            for line, column, reason in MALFORMED[kind]
        ]
        assert [str(p) for p in tally.problems] == expected
        assert tally.quarantine.lines == {
            reason: [line - offset] for line, _, reason in MALFORMED[kind]
        }
    everything = " ".join(
        str(p) + json.dumps(r.tally.quarantine.to_dict()) for r in records.values()
        for p in r.tally.problems
    )  # fmt: skip
    assert planted_leaks(everything) == []


def test_names_and_message_texts_are_not_in_the_raw_frames(tmp_path: Path) -> None:
    records = read_crm_exports(write_exports(tmp_path / "crm"))
    assert "first_name" not in records[CrmKind.ACCOUNTS].frame.columns
    assert "name" not in records[CrmKind.ORGANISATIONS].frame.columns
    forms = records[CrmKind.CONTACT_FORMS].frame
    assert "message" not in forms.columns
    assert forms["message_chars"].to_list() == [53, 160, None, 39, 600]
    text = " ".join(str(r.frame.to_dicts()) for r in records.values())
    # E-mails and IP addresses are still here (the anonymiser needs them); names and texts not.
    assert EMAILS[0] in text and IPS[0] in text
    for value in [*MESSAGES, *PHONES, *ORG_NAMES, NAMES[0], "Nowak4", "Maria"]:
        assert value not in text


def test_the_committed_sample_has_exactly_its_planted_malformed_rows() -> None:
    truth = json.loads((SAMPLE / "truth.json").read_text())["crm"]
    for fmt in ExportFormat:
        records = read_crm_exports(SAMPLE / "crm", fmt)
        for kind in CrmKind:
            bad = sorted(r["row"] for r in truth["malformed_rows"] if r["kind"] == kind.value)
            lines = sorted(n for ns in records[kind].tally.quarantine.lines.values() for n in ns)
            path = SAMPLE / "crm" / f"{kind.value}.{fmt.value}"
            assert lines == [_line_of_record(path, row) for row in bad], (fmt, kind)
            assert records[kind].frame.height == truth["valid_rows"][kind.value]


def _line_of_record(path: Path, number: int) -> int:
    """The line a data record starts on (CSV records may span lines: messages hold newlines)."""
    if path.suffix == ".jsonl":
        return number
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        for _ in range(number - 1):
            next(reader)
        return reader.line_num + 1


def test_records_come_in_bounded_batches(tmp_path: Path) -> None:
    rows = {"activity": [], "organisations": [], "accounts": [], "contact_forms": []}
    rows["activity"] = [
        {"occurred_at": f"2026-10-01T10:{i % 60:02d}:00Z", "org_id": 1, "account_id": i,
         "module": "tasks", "action": "view", "records_affected": 1, "source": "web"}
        for i in range(250)
    ]  # fmt: skip
    folder = write_exports(tmp_path / "crm", "csv", rows)
    source = CrmFiles(folder, crm=CrmConfig(batch_rows=100))
    records = source.records(CrmKind.ACTIVITY)
    assert [frame.height for frame in records] == [100, 100, 50]
    assert records.tally.records == 250 and records.tally.digest


def test_a_folder_with_both_formats_asks_which_one(tmp_path: Path) -> None:
    folder = write_exports(tmp_path / "crm", "csv")
    write_exports(folder, "jsonl")
    with pytest.raises(
        InputError,
        match=r"more than once \(organisations\.csv, organisations\.jsonl\).*--format csv\|jsonl",
    ):
        CrmFiles(folder)
    assert CrmFiles(folder, ExportFormat.JSONL).format == "jsonl"


def test_missing_folder_empty_folder_and_missing_column_are_one_line_errors(
    tmp_path: Path,
) -> None:
    with pytest.raises(InputError, match="does not exist"):
        CrmFiles(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="holds no CRM export"):
        CrmFiles(tmp_path / "empty")
    folder = write_exports(tmp_path / "crm")
    text = (folder / "accounts.csv").read_text()
    (folder / "accounts.csv").write_text(text.replace(",plan,", ",tier,", 1))
    with pytest.raises(InputError) as caught:
        read_crm_exports(folder)
    assert str(caught.value) == "accounts.csv: the header lacks the column plan"
    (folder / "accounts.csv").write_text("")
    with pytest.raises(InputError, match=r"accounts\.csv is empty"):
        read_crm_exports(folder)


def test_name_columns_need_not_exist_at_all(tmp_path: Path) -> None:
    folder = write_exports(tmp_path / "crm", "csv")
    for path in folder.iterdir():
        frame = pl.read_csv(path, infer_schema=False)
        frame.drop(c for c in frame.columns if "name" in c).write_csv(path)
    assert "first_name" not in (folder / "accounts.csv").read_text()
    records = read_crm_exports(folder)
    assert records[CrmKind.ACCOUNTS].frame.height == 12
    assert records[CrmKind.ORGANISATIONS].frame.height == 3


def test_csv_reader_faults_are_quarantined_by_line(tmp_path: Path) -> None:
    folder = tmp_path / "crm"
    folder.mkdir()
    header = "org_id,name,size_band,industry,partner"
    lines = [
        "\ufeff" + header,  # a spreadsheet's byte-order mark
        "1,Firma Kanarek,1-9,retail,acme",
        "2,Too,Many,Fields,acme,here",
        "",
        "3," + '"' + "x" * 200_000 + '"' + ",1-9,retail,acme",
        '4,"Multi\r\nline name",10-49,retail,acme',
        "5,Bad<invalid>bytes,10-49,retail,acme",
        '6,"Unterminated Kanarek,1-9,retail,acme',
    ]
    data = "\r\n".join(lines).encode("utf-8").replace(b"<invalid>", b"\xff\xfe")
    (folder / "organisations.csv").write_bytes(data + b"\r\n")
    records = read_crm_exports(folder)[CrmKind.ORGANISATIONS]
    assert records.frame["org_id"].to_list() == [1, 4, 5]
    assert records.frame["line"].to_list() == [2, 6, 8]
    assert records.tally.quarantine.lines == {
        "wrong field count": [3],
        "empty line": [4],
        "line too long": [5],
        "unterminated quote": [9],
    }
    assert records.tally.quarantine.non_utf8 == 1
    assert records.tally.records == 7


def test_jsonl_reader_faults_are_quarantined_by_line(tmp_path: Path) -> None:
    folder = tmp_path / "crm"
    folder.mkdir()
    good = {"org_id": 1, "name": "Kanarek", "size_band": "1-9", "industry": "retail",
            "partner": "acme"}  # fmt: skip
    lines = [
        json.dumps(good),
        "{not json at all Kanarek",
        json.dumps([1, 2, 3]),
        "",
        json.dumps({**good, "org_id": 2, "industry": ["retail", "Kanarek"]}),
        json.dumps({**good, "org_id": 3, "size_band": None, "extra": "ignored"}),
        json.dumps({**good, "org_id": "4"}),
    ]
    (folder / "organisations.jsonl").write_text("\n".join(lines) + "\n")
    records = read_crm_exports(folder)[CrmKind.ORGANISATIONS]
    assert records.frame["org_id"].to_list() == [1, 3, 4]
    assert records.tally.quarantine.lines == {
        "not a JSON object": [2, 3],
        "empty line": [4],
        "not a single value": [5],
    }
    assert [str(p) for p in records.tally.problems][-1] == (
        "organisations.jsonl line 5, column industry: not a single value"
    )


def test_jsonl_without_a_declared_column_anywhere_is_an_error(tmp_path: Path) -> None:
    folder = tmp_path / "crm"
    folder.mkdir()
    (folder / "organisations.jsonl").write_text(json.dumps({"org_id": 1, "size": "1-9"}) + "\n")
    with pytest.raises(
        InputError, match=r"organisations\.jsonl: no record has the column size_band"
    ):
        read_crm_exports(folder)


def test_gzipped_exports_are_read_and_a_truncated_one_is_an_error(tmp_path: Path) -> None:
    plain = write_exports(tmp_path / "plain")
    folder = tmp_path / "gz"
    folder.mkdir()
    for path in plain.iterdir():
        (folder / (path.name + ".gz")).write_bytes(gzip.compress(path.read_bytes()))
    assert read_crm_exports(folder)[CrmKind.ACTIVITY].frame.equals(
        read_crm_exports(plain)[CrmKind.ACTIVITY].frame
    )
    damaged = (folder / "activity.csv.gz").read_bytes()
    (folder / "activity.csv.gz").write_bytes(damaged[: len(damaged) // 2])
    with pytest.raises(InputError, match=r"cannot read activity\.csv\.gz: damaged or truncated"):
        read_crm_exports(folder)


def test_every_planted_value_is_in_the_fixture_to_begin_with(tmp_path: Path) -> None:
    folder = write_exports(tmp_path / "crm")
    text = " ".join(p.read_text() for p in folder.iterdir())
    assert {hit.split(" as ")[0] for hit in planted_leaks(text)} == {repr(v) for v in PLANTED}
