"""The runner executes real notebooks with papermill and writes a report folder, all or nothing."""

from __future__ import annotations

import csv
import json
import shutil
import sys
from pathlib import Path

import nbformat
import pytest

from privstats.exceptions import ReportError
from privstats.report import run_all_partners, run_report, runner

NOTEBOOKS = Path(__file__).parent / "notebooks"
LEAKED = ("203.0.113.7", "kowalski")


def _run(name: str, out_root: Path, **kwargs):
    return run_report(name, out_root=out_root, notebooks_dir=NOTEBOOKS, **kwargs)


def test_the_report_folder_holds_html_csv_and_manifest(tiny_pl) -> None:
    folder = tiny_pl.folder
    assert folder == tiny_pl.out_root / "tiny" / "acme" / "2026-10" / "pl"
    files = ("browsers.csv", "devices.csv", "hours.csv", "manifest.json", "report.html")
    assert tuple(sorted(p.name for p in folder.iterdir())) == files
    assert tiny_pl.output.files == files


def test_the_reviewers_full_records_stay_in_the_work_folder(tiny_pl) -> None:
    records = json.loads(
        (tiny_pl.output.executed_notebook.parent / "records.json").read_text(encoding="utf-8")
    )
    assert set(records) == {"browsers", "hours", "devices"}
    reasons = {tuple(c["reasons"]) for c in records["devices"]["cells"]}
    assert ("threshold",) in reasons and ("secondary",) in reasons
    manifest = (tiny_pl.folder / "manifest.json").read_text(encoding="utf-8")
    assert "secondary" not in manifest and '"reasons"' not in manifest


def test_the_executed_notebook_stays_in_the_work_folder(tiny_pl) -> None:
    executed = tiny_pl.output.executed_notebook
    assert (
        executed
        == tiny_pl.out_root / ".work" / "tiny" / "acme" / "2026-10" / "pl" / "executed.ipynb"
    )
    assert not executed.is_relative_to(tiny_pl.folder)
    notebook = nbformat.read(executed, as_version=4)
    printed = [
        output.get("text", "")
        for cell in notebook.cells
        for output in cell.get("outputs", [])
        if output.get("output_type") == "stream"
    ]
    # The notebook did print the canary; it must not have gone further than this file.
    assert any("PRINTED-CANARY-7f3a" in text for text in printed)
    assert not (executed.parent / "staging").exists()
    # What native code wrote straight to the kernel's stdout went to a private log too.
    assert "HiGHS" in (executed.parent / "kernel.log").read_text(encoding="utf-8")


def test_printed_output_never_reaches_the_report_folder(tiny_pl, tiny_en) -> None:
    for rendered in (tiny_pl, tiny_en):
        for path in rendered.folder.iterdir():
            assert "PRINTED-CANARY-7f3a" not in path.read_text(encoding="utf-8-sig")


def test_typed_parameters_arrive_in_the_notebook_with_their_types(tmp_path) -> None:
    output = _run(
        "typed",
        tmp_path,
        text_params={
            "partner": "beta",
            "top": "7",
            "share": "1",
            "include_bots": "true",
            "mode": "full",
        },
    )
    assert output.folder == tmp_path / "typed" / "beta" / "2026-10" / "en"
    with (output.folder / "types.csv").open(encoding="utf-8-sig", newline="") as stream:
        rows = {row["parameter"]: (row["type"], row["value"]) for row in csv.DictReader(stream)}
    assert rows == {
        "partner": ("str", "'beta'"),
        "top": ("int", "7"),
        "share": ("float", "1.0"),
        "include_bots": ("bool", "True"),
        "label": ("str", "'all'"),
        "mode": ("str", "'full'"),
        "start": ("str", "'2026-10-01'"),
    }
    manifest = json.loads((output.folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["parameters"]["top"] == 7
    assert manifest["parameters"]["include_bots"] is True


def test_a_failing_notebook_names_notebook_cell_and_exception_type_only(tmp_path) -> None:
    with pytest.raises(ReportError) as caught:
        _run("failing", tmp_path)
    message = str(caught.value)
    assert "\n" not in message
    assert "report notebook 'failing' failed in cell 3 of 3 (tagged 'boom') with ValueError" in (
        message
    )
    for leaked in LEAKED:  # the exception's own message carried data: it must not be shown
        assert leaked not in message
    assert caught.value.exit_code != 0
    assert not (tmp_path / "failing").exists()
    # The failed notebook is kept for debugging, traceback included, in the work folder.
    executed = tmp_path / ".work" / "failing" / "acme" / "2026-10" / "en" / "executed.ipynb"
    assert str(executed) in message
    assert "ValueError" in executed.read_text(encoding="utf-8")


def test_a_kernel_that_dies_is_reported_with_its_cell(tmp_path) -> None:
    with pytest.raises(ReportError) as caught:
        _run("failing", tmp_path, params={"how": "die"})
    message = str(caught.value)
    assert "did not complete in cell 3 of 3 (tagged 'boom') (DeadKernelError)" in message
    assert "\n" not in message
    assert not (tmp_path / "failing").exists()


def test_a_kernel_of_another_environment_is_refused_with_the_fix(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(runner, "RUNNER_PREFIX", str(tmp_path / "another-venv"))
    with pytest.raises(ReportError) as caught:
        _run("typed", tmp_path)
    assert "could not start a privstats session in its kernel (ReportError)" in str(caught.value)
    assert "python -m ipykernel install --sys-prefix --name python3" in str(caught.value)
    assert not (tmp_path / "typed").exists()


def test_publishing_a_plain_dataframe_fails_the_run(tmp_path) -> None:
    with pytest.raises(ReportError, match=r"cell 3 of 3 .* with DisclosureError"):
        _run("failing", tmp_path, params={"how": "dataframe"})
    assert not (tmp_path / "failing").exists()


def test_a_notebook_that_publishes_nothing_fails_the_run(tmp_path) -> None:
    with pytest.raises(ReportError, match="published no table and no figure"):
        _run("failing", tmp_path, params={"how": "nothing"})
    assert not (tmp_path / "failing").exists()


def test_an_existing_folder_is_not_overwritten_without_force(tmp_path) -> None:
    folder = tmp_path / "typed" / "all" / "2026-10" / "en"
    folder.mkdir(parents=True)
    (folder / "report.html").write_text("earlier report")
    with pytest.raises(ReportError, match="already exists; pass --force"):
        _run("typed", tmp_path)
    assert (folder / "report.html").read_text() == "earlier report"
    assert not (tmp_path / ".work").exists()  # refused before anything ran


def test_a_failed_forced_rerun_leaves_the_earlier_report_intact(tmp_path) -> None:
    folder = tmp_path / "failing" / "acme" / "2026-10" / "en"
    folder.mkdir(parents=True)
    (folder / "report.html").write_text("earlier report")
    with pytest.raises(ReportError, match="ValueError"):
        _run("failing", tmp_path, overwrite=True)
    assert sorted(p.name for p in folder.iterdir()) == ["report.html"]
    assert (folder / "report.html").read_text() == "earlier report"
    assert [p.name for p in folder.parent.iterdir()] == ["en"]  # no partial folder left


def test_force_replaces_the_folder_whole(tmp_path) -> None:
    folder = tmp_path / "typed" / "all" / "2026-10" / "en"
    folder.mkdir(parents=True)
    (folder / "stale.csv").write_text("from an earlier run")
    output = _run("typed", tmp_path, overwrite=True)
    assert output.folder == folder
    assert sorted(p.name for p in folder.iterdir()) == ["manifest.json", "report.html", "types.csv"]
    assert [p.name for p in folder.parent.iterdir()] == ["en"]


def test_all_partners_run_in_parallel_and_failures_are_collected(
    tmp_path, capsys, monkeypatch
) -> None:
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)  # as in a terminal
    result = run_all_partners(
        "typed",
        ["alpha", "beta", "Not A Slug"],
        "2026-10",
        workers=2,
        out_root=tmp_path,
        notebooks_dir=NOTEBOOKS,
    )
    assert not result.ok
    assert [o.partner for o in result.succeeded] == ["alpha", "beta"]
    for output in result.succeeded:
        assert (output.folder / "report.html").is_file()
    assert [f.partner for f in result.failed] == ["Not A Slug"]
    assert "partner id" in result.failed[0].message
    summary = result.summary()
    assert "2 written, 1 failed" in summary
    assert "FAILED  Not A Slug" in summary
    # The progress bar went to standard error: a plan and a final pass per valid partner.
    assert "4/4" in capsys.readouterr().err


def test_the_progress_bar_stays_out_of_a_log(tmp_path, capfd) -> None:
    # Standard error is a file here, as under cron: no frames of a progress bar in it.
    result = run_all_partners(
        "typed", ["alpha", "beta"], "2026-10", out_root=tmp_path, notebooks_dir=NOTEBOOKS
    )
    assert result.ok
    assert capfd.readouterr().err == ""


def test_skip_existing_keeps_what_an_earlier_run_wrote(tmp_path) -> None:
    first = run_all_partners("typed", ["alpha"], "2026-10", out_root=tmp_path,
                             notebooks_dir=NOTEBOOKS)  # fmt: skip
    again = run_all_partners("typed", ["alpha", "beta"], "2026-10", out_root=tmp_path,
                             notebooks_dir=NOTEBOOKS, skip_existing=True)  # fmt: skip
    assert again.ok
    assert [(o.partner, o.skipped) for o in again.succeeded] == [("alpha", True), ("beta", False)]
    assert "1 written, 1 kept as they were, 0 failed" in again.summary()
    assert first.succeeded[0].folder == again.succeeded[0].folder
    rerun = run_all_partners("typed", ["alpha"], "2026-10", out_root=tmp_path,
                             notebooks_dir=NOTEBOOKS)  # fmt: skip
    assert "already exists; pass --force to replace it or --skip-existing" in (
        rerun.failed[0].message
    )


def test_each_language_has_its_own_folder(tmp_path) -> None:
    polish = _run("typed", tmp_path, params={"language": "pl"})
    english = _run("typed", tmp_path, params={"language": "en"})
    assert (polish.folder.name, english.folder.name) == ("pl", "en")
    assert polish.folder.parent == english.folder.parent
    assert (polish.folder / "report.html").is_file() and (english.folder / "report.html").is_file()


def test_a_batch_of_one_failing_notebook_reports_it_by_partner(tmp_path) -> None:
    result = run_all_partners(
        "failing", ["acme"], "2026-10", out_root=tmp_path, notebooks_dir=NOTEBOOKS, progress=False
    )
    assert not result.ok and not result.succeeded
    assert "with ValueError" in result.failed[0].message
    assert not (tmp_path / "failing").exists()


def test_a_copy_of_a_report_folder_is_self_describing(tiny_pl, tmp_path) -> None:
    # What a partner receives is the folder alone: copied elsewhere, it still verifies.
    from privstats.report.manifest import verify_manifest

    copy = Path(shutil.copytree(tiny_pl.folder, tmp_path / "copy"))
    assert verify_manifest(copy) == []
