"""Committed notebooks are diffable (no outputs) and declare their parameters."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from privstats.report.parameters import read_parameters

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb")) + sorted(
    (Path(__file__).parent / "notebooks").glob("*.ipynb")
)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: str(p.relative_to(REPO)))
def test_a_committed_notebook_has_no_outputs_and_a_parameters_cell(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{path.name}: strip the outputs before committing"
            assert cell.execution_count is None
    parameters = read_parameters(path)
    assert "language" in parameters
    assert parameters["language"].choices == ("pl", "en")


REPORTS = [p for p in sorted((REPO / "notebooks").glob("*.ipynb")) if p.stem != "review"]


@pytest.mark.parametrize("path", REPORTS, ids=lambda p: p.stem)
def test_every_report_notebook_declares_the_same_parameters_for_the_same_ideas(
    path: Path,
) -> None:
    from privstats.report.parameters import ParameterKind
    from privstats.report.plan import STANDARD_PARAMETERS, tables_read

    declared = read_parameters(path)
    assert set(STANDARD_PARAMETERS) <= set(declared), path.stem
    assert declared["period"].kind is ParameterKind.PERIOD and declared["period"].default is None
    assert declared["start"].kind is declared["end"].kind is ParameterKind.DATE
    assert declared["rules_profile"].nullable and declared["partner"].kind is ParameterKind.STR
    assert declared["store_path"].default == ""
    # The runner checks the store, partner and period before a kernel starts from this.
    assert tables_read(nbformat.read(path, as_version=4).metadata), path.stem
    setup = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells)
    assert "report_plan(" in setup, "parameters are resolved by one function, checked once"
