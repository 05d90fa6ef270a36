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
