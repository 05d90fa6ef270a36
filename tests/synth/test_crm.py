"""CRM exports: both encodings agree, the manifest counts rows, the world is consistent."""

from __future__ import annotations

import csv
import datetime as dt
import ipaddress
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from privstats.synth import SynthManifest

KINDS = {"organisations", "accounts", "contact_forms", "activity", "erasure_requests"}
PARTNERS = {"acme", "nordic", "baltic", "vistula"}
CHANNELS = {"email", "facebook", "google", "salesforce", "hubspot", "pipedrive", "subiekt"}


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines()]


def as_csv_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def is_time(value: str) -> bool:
    try:
        return dt.datetime.fromisoformat(value).tzinfo is not None
    except ValueError:
        return False


def is_address(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def tables(out: Path) -> dict[str, list[dict[str, Any]]]:
    return {kind: read_jsonl(out / "crm" / f"{kind}.jsonl") for kind in KINDS}


def test_csv_and_json_lines_hold_the_same_rows(synth_out: tuple[Path, SynthManifest]) -> None:
    out, manifest = synth_out
    assert {f.kind for f in manifest.crm} == KINDS
    for kind in KINDS:
        rows_csv = read_csv(out / "crm" / f"{kind}.csv")
        rows_json = read_jsonl(out / "crm" / f"{kind}.jsonl")
        assert rows_csv == [{k: as_csv_text(v) for k, v in r.items()} for r in rows_json]
        for entry in manifest.crm:
            if entry.kind == kind:
                assert entry.rows == len(rows_csv)


def test_malformed_rows_are_counted_by_kind(synth_out: tuple[Path, SynthManifest]) -> None:
    out, manifest = synth_out
    data = tables(out)
    found = {
        "accounts": {
            "unknown_channel": sum(r["signup_channel"] not in CHANNELS for r in data["accounts"]),
            "missing_value": sum(not r["email"] for r in data["accounts"]),
            "bad_timestamp": sum(not is_time(r["created_at"]) for r in data["accounts"]),
        },
        "activity": {
            "missing_value": sum(r["org_id"] is None for r in data["activity"]),
            "bad_timestamp": sum(not is_time(r["occurred_at"]) for r in data["activity"]),
        },
        "contact_forms": {
            "missing_value": sum(not r["email"] for r in data["contact_forms"]),
            "bad_timestamp": sum(not is_time(r["submitted_at"]) for r in data["contact_forms"]),
        },
        "organisations": {"missing_value": sum(r["org_id"] is None for r in data["organisations"])},
    }
    for entry in manifest.crm:
        if entry.kind in found:
            assert entry.malformed_by_kind == found[entry.kind], entry.path
            assert entry.malformed == sum(found[entry.kind].values())


def test_records_are_consistent_with_each_other_and_the_logs(
    synth_out: tuple[Path, SynthManifest], truth: dict[str, Any], all_text: str
) -> None:
    out, _ = synth_out
    data = tables(out)
    orgs = {r["org_id"] for r in data["organisations"] if r["org_id"] is not None}
    assert {r["partner"] for r in data["organisations"]} == PARTNERS
    assert {r["size_band"] for r in data["organisations"]} <= {"1-9", "10-49", "50-249", "250+"}
    valid_accounts = [r for r in data["accounts"] if r["email"] and r["signup_channel"] in CHANNELS]
    assert {r["org_id"] for r in valid_accounts} <= orgs
    ids = {r["account_id"] for r in valid_accounts}
    assert {(r["account_id"]) for r in data["activity"]} <= ids
    assert {r["org_id"] for r in data["activity"] if r["org_id"] is not None} <= orgs
    assert {r["source"].split(":")[0] for r in data["activity"]} == {
        "web",
        "api",
        "mobile",
        "import",
    }
    # The same people log in on the web: their e-mail is the login of the app's log.
    logged_in = [r["email"] for r in valid_accounts if f" - {r['email']} [" in all_text]
    assert len(logged_in) > len(valid_accounts) / 4
    closed = set(truth["crm"]["closed_accounts"])
    assert closed and all(r["closed_at"] for r in valid_accounts if r["account_id"] in closed)
    assert all(f" - {r['email']} [" not in all_text for r in valid_accounts
               if r["account_id"] in closed)  # fmt: skip
    objecting = set(truth["crm"]["objecting_accounts"])
    assert objecting == {r["account_id"] for r in valid_accounts if not r["consent_statistics"]}


def test_erasure_requests_name_people_who_left_traces_on_the_web(
    synth_out: tuple[Path, SynthManifest], truth: dict[str, Any], all_text: str
) -> None:
    out, _ = synth_out
    requests = truth["crm"]["erasure_requests"]
    assert requests
    listed = {r["email"] for r in read_csv(out / "crm" / "erasure_requests.csv")}
    assert listed == {r["email"] for r in requests}
    for request in requests:
        assert f" - {request['email']} [" in all_text


def test_contact_forms_come_from_posts_in_the_www_log(
    synth_out: tuple[Path, SynthManifest], truth: dict[str, Any], logs: SimpleNamespace
) -> None:
    out, manifest = synth_out
    posters = set()
    for entry in manifest.access:
        if entry.format == "combined":
            for line in logs.raw_lines(out / entry.path):
                fields = logs.parse("combined", line)
                if fields and fields["method"] == "POST" and fields["target"] == "/contact":
                    posters.add(fields["client"])
    forms = [r for r in tables(out)["contact_forms"] if r["email"]]
    from_logs = truth["crm"]["contact_forms_from_logs"]
    assert from_logs > 0
    ips = {r["client_ip"] for r in forms}
    # Host-named clients have an address in the form; the log shows their host name.
    assert {p for p in posters if is_address(p)} <= ips
    assert {r["topic"] for r in forms} <= {"sales", "support", "billing", "partnership", "other"}
    assert any("+48" in r["message"] or "+44" in r["message"] for r in forms)
