"""generate(): determinism, manifest and truth against the files, layouts, planted values."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import quote, quote_plus

import pytest

from privstats.exceptions import ConfigError
from privstats.synth import SynthManifest, generate, load_manifest

REPO = Path(__file__).resolve().parents[2]
FORMATS = {
    "common",
    "combined",
    "vhost_combined",
    "combined_D",
    "combined_T",
    "nginx_timed",
    "nginx_json",
}


def digests(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def utc_day(fmt: str, fields: dict[str, Any]) -> str:
    if fmt == "nginx_json":
        moment = dt.datetime.fromisoformat(fields["time_iso8601"])
    else:
        moment = dt.datetime.strptime(fields["time"], "%d/%b/%Y:%H:%M:%S %z")
    return moment.astimezone(dt.UTC).date().isoformat()


def test_the_same_seed_gives_the_same_bytes_and_another_seed_does_not(tmp_path: Path) -> None:
    generate(tmp_path / "a", days=1, visitors=40, seed=5)
    generate(tmp_path / "b", days=1, visitors=40, seed=5)
    generate(tmp_path / "c", days=1, visitors=40, seed=6)
    assert digests(tmp_path / "a") == digests(tmp_path / "b")
    assert digests(tmp_path / "a") != digests(tmp_path / "c")


def test_the_output_does_not_depend_on_string_hashing(tmp_path: Path) -> None:
    # Python salts str hashes per process: set or dict order must never reach the output.
    script = (
        "import sys; from pathlib import Path; from privstats.synth import generate; "
        "generate(Path(sys.argv[1]), days=1, visitors=30, seed=9)"
    )
    for salt in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": salt}
        subprocess.run([sys.executable, "-c", script, str(tmp_path / salt)], env=env, check=True)
    assert digests(tmp_path / "1") == digests(tmp_path / "2")


def test_the_committed_sample_is_what_the_generator_writes(
    tmp_path: Path, logs: SimpleNamespace
) -> None:
    sample = REPO / "data" / "sample"
    generate(tmp_path, days=3, visitors=300, seed=7, huge_line=False)
    fresh = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    committed = sorted(str(p.relative_to(sample)) for p in sample.rglob("*") if p.is_file())
    assert fresh == committed
    for name in fresh:  # compare contents, not gzip framing, which depends on zlib's version
        assert logs.read_raw(tmp_path / name) == logs.read_raw(sample / name), name
    size = sum(p.stat().st_size for p in sample.rglob("*") if p.is_file())
    assert size < 2_000_000


def test_the_manifest_is_returned_and_written(synth_out: tuple[Path, SynthManifest]) -> None:
    out, manifest = synth_out
    assert load_manifest(out) == manifest
    assert {f.format for f in manifest.access} == FORMATS
    assert any(f.compressed for f in manifest.access)
    assert any(not f.compressed for f in manifest.access)
    assert {Path(f.path).name for f in manifest.access} >= {"access.log", "access.log.1"}
    assert "access-log files" in manifest.summary()


def test_manifest_counts_equal_the_file_contents(
    synth_out: tuple[Path, SynthManifest], logs: SimpleNamespace
) -> None:
    out, manifest = synth_out
    for entry in manifest.access:
        lines = logs.raw_lines(out / entry.path)
        valid = [line for line in lines if logs.parse(entry.format, line) is not None]
        non_utf8 = 0
        for line in valid:
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                non_utf8 += 1
        assert entry.lines == len(lines), entry.path
        assert entry.valid == len(valid), entry.path
        assert entry.malformed == len(lines) - len(valid) == sum(entry.malformed_by_kind.values())
        assert entry.non_utf8 == non_utf8 == sum(entry.non_utf8_by_kind.values()), entry.path
        assert entry.crlf == sum(1 for line in lines if line.endswith(b"\r\n")), entry.path
        assert all(line.endswith(b"\n") for line in lines)


def test_every_bad_line_kind_is_present(synth_out: tuple[Path, SynthManifest]) -> None:
    _, manifest = synth_out
    kinds = Counter[str]()
    for entry in manifest.access:
        kinds.update(entry.malformed_by_kind)
    assert set(kinds) == {
        "wrong_field_count",
        "unterminated_quote",
        "bad_timestamp",
        "non_numeric_status",
        "non_numeric_size",
        "dash_status",
        "too_long",
    }
    assert kinds["too_long"] == 1
    odd = Counter[str]()
    for entry in manifest.access:
        odd.update(entry.non_utf8_by_kind)
    assert set(odd) == {"invalid_utf8", "latin1_user_agent"}


def test_the_huge_line_is_about_a_megabyte_and_is_left_out_on_request(
    synth_out: tuple[Path, SynthManifest], logs: SimpleNamespace, tmp_path: Path
) -> None:
    out, manifest = synth_out
    longest = max(len(line) for e in manifest.access for line in logs.raw_lines(out / e.path))
    assert 1_000_000 < longest < 1_200_000
    small = generate(tmp_path, days=1, visitors=30, seed=1, huge_line=False)
    assert all("too_long" not in e.malformed_by_kind for e in small.access)


def test_valid_lines_are_in_time_order_with_warsaw_or_utc_offsets(
    synth_out: tuple[Path, SynthManifest], logs: SimpleNamespace
) -> None:
    out, manifest = synth_out
    for entry in manifest.access:
        moments, offsets = [], set()
        for line in logs.raw_lines(out / entry.path):
            fields = logs.parse(entry.format, line)
            if fields is None:
                continue
            if entry.format == "nginx_json":
                moment = dt.datetime.fromisoformat(fields["time_iso8601"])
            else:
                moment = dt.datetime.strptime(fields["time"], "%d/%b/%Y:%H:%M:%S %z")
            moments.append(moment)
            offsets.add(moment.utcoffset())
        assert moments == sorted(moments), entry.path
        assert offsets <= {dt.timedelta(hours=2), dt.timedelta(0)}, entry.path


def test_the_end_of_summer_time_shows_in_the_offsets(tmp_path: Path, logs: SimpleNamespace) -> None:
    manifest = generate(tmp_path, days=2, visitors=30, seed=2, start=dt.date(2026, 10, 24))
    offsets = set()
    for entry in manifest.access:
        if entry.format == "combined":
            for line in logs.raw_lines(tmp_path / entry.path):
                fields = logs.parse("combined", line)
                if fields:
                    offsets.add(fields["time"][-5:])
    assert offsets == {"+0200", "+0100"}


def test_truth_daily_counts_match_the_valid_lines(
    synth_out: tuple[Path, SynthManifest], truth: dict[str, Any], logs: SimpleNamespace
) -> None:
    out, manifest = synth_out
    total: Counter[str] = Counter()
    clients: dict[str, set[str]] = defaultdict(set)
    for entry in manifest.access:
        per_day: Counter[str] = Counter()
        for line in logs.raw_lines(out / entry.path):
            fields = logs.parse(entry.format, line)
            if fields is None:
                continue
            day = utc_day(entry.format, fields)
            per_day[day] += 1
            clients[day].add(fields.get("client") or fields.get("remote_addr"))
        assert truth["daily_hits"]["files"][entry.path] == dict(per_day), entry.path
        assert sum(per_day.values()) == entry.valid
        total += per_day
    assert truth["daily_hits"]["total"] == dict(total)
    assert truth["distinct_clients_per_day"] == {d: len(c) for d, c in clients.items()}


def test_activity_is_heavy_tailed(truth: dict[str, Any]) -> None:
    tail = truth["heavy_tail"]
    assert tail["top_1pct_share"] > 0.1
    assert tail["busiest_client_hits"] > 20 * tail["median_client_hits"]


def test_the_traffic_looks_like_a_crm_service(
    synth_out: tuple[Path, SynthManifest], logs: SimpleNamespace
) -> None:
    out, manifest = synth_out
    targets, clients, agents, statuses, referers, logins = [], set(), set(), Counter(), [], set()
    for entry in manifest.access:
        for line in logs.raw_lines(out / entry.path):
            f = logs.parse(entry.format, line)
            if f is None:
                continue
            if entry.format == "nginx_json":
                targets.append(f["request"].split()[1])
                clients.add(f["remote_addr"])
                agents.add(f["http_user_agent"])
                statuses[f["status"]] += 1
                continue
            targets.append(f["target"])
            clients.add(f["client"])
            agents.add(f.get("agent"))
            statuses[int(f["status"])] += 1
            referers.append(f.get("referer") or "-")
            logins.add(f["login"])
    joined = "\n".join(targets)
    for fragment in (
        "/crm/contacts/",
        "/api/v1/deals/",
        "/login",
        "/register?email=",
        "/u/",
        "/static/js/app.",
        "/pricing",
        "/blog/",
        "/reset/",
        "/robots.txt",
    ):
        assert fragment in joined, fragment
    assert any(":" in c for c in clients), "IPv6 clients"
    assert any(c.endswith((".example.net", ".example.com", ".example.org")) for c in clients)
    assert any("Googlebot" in (a or "") for a in agents)
    assert any("bingbot" in (a or "") for a in agents)
    assert any("subscribers" in (a or "") for a in agents), "feed readers"
    assert {404, 500} <= set(statuses) and statuses[200] > sum(statuses.values()) / 2
    assert any(r.startswith("https://www.google.com/search?q=") and len(r) > 200 for r in referers)
    assert any(r.startswith("https://l.facebook.com/l.php?u=") for r in referers)
    assert any("@" in login for login in logins) and any(
        login not in ("-",) and "@" not in login for login in logins
    )


def test_planted_identifiers_are_in_the_inputs(truth: dict[str, Any], all_text: str) -> None:
    planted = truth["planted"]
    assert set(planted) >= {
        "ips",
        "hosts",
        "emails",
        "names",
        "logins",
        "user_agent_tokens",
        "url_tokens",
        "slugs",
        "phones",
        "messages",
    }
    for kind, values in planted.items():
        assert values, kind
        for value in values:
            forms = {
                value,
                quote(value, safe=""),
                quote_plus(value),
                value.replace('"', '""'),
                json.dumps(value, ensure_ascii=False)[1:-1],
            }
            # CRM exports hold a name as two columns: "Adam,Błaszczyk".
            as_columns = kind == "names" and ",".join(value.split(" ", 1)) in all_text
            assert as_columns or any(form in all_text for form in forms), (kind, value)


def test_a_persons_slug_is_requested_by_that_person_only(
    synth_out: tuple[Path, SynthManifest], truth: dict[str, Any], logs: SimpleNamespace
) -> None:
    out, manifest = synth_out
    who: dict[str, set[str]] = defaultdict(set)
    slugs = set(truth["planted"]["slugs"])
    for entry in manifest.access:
        if entry.format != "combined_D":
            continue
        for line in logs.raw_lines(out / entry.path):
            f = logs.parse(entry.format, line)
            if f is None:
                continue
            for segment in f["target"].split("?")[0].split("/"):
                if segment in slugs:
                    who[segment].add(f["login"])
    assert who
    assert all(len(logins) == 1 for logins in who.values())


def test_clients_of_bad_lines_appear_in_no_valid_line(
    synth_out: tuple[Path, SynthManifest], truth: dict[str, Any], logs: SimpleNamespace
) -> None:
    out, manifest = synth_out
    bad_only = set(truth["malformed_only_clients"])
    assert bad_only
    seen_in_bad = set()
    for entry in manifest.access:
        for line in logs.raw_lines(out / entry.path):
            f = logs.parse(entry.format, line)
            body = logs.text(line)
            client = body.split(" ", 1)[0] if entry.format != "vhost_combined" else body.split()[1]
            if f is None:
                if entry.format == "nginx_json":
                    client = next((c for c in bad_only if f'"{c}"' in body), "")
                seen_in_bad.add(client)
            else:
                assert (f.get("client") or f.get("remote_addr")) not in bad_only
    assert bad_only <= seen_in_bad


def test_bad_arguments_and_foreign_folders_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        generate(tmp_path / "x", visitors=5)
    with pytest.raises(ConfigError):
        generate(tmp_path / "x", days=0)
    with pytest.raises(ConfigError):
        generate(tmp_path / "x", bad_ratio=0.9)
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError):
        generate(foreign, days=1, visitors=20)
    assert (foreign / "notes.txt").read_text() == "mine"


def test_regenerating_into_an_earlier_output_replaces_it(tmp_path: Path) -> None:
    generate(tmp_path, days=2, visitors=30, seed=1)
    second = generate(tmp_path, days=1, visitors=30, seed=1)
    written = {
        str(p.relative_to(tmp_path)) for p in (tmp_path / "access").rglob("*") if p.is_file()
    }
    assert written == {f.path for f in second.access}


def test_no_bad_lines_when_the_ratio_is_zero(tmp_path: Path) -> None:
    manifest = generate(tmp_path, days=1, visitors=30, seed=4, bad_ratio=0.0, huge_line=False)
    assert all(f.malformed == 0 and f.non_utf8 == 0 for f in manifest.access)
    assert all(f.malformed == 0 for f in manifest.crm)
    assert json.loads((tmp_path / "truth.json").read_text())["malformed_only_clients"] == []
