"""examples/quickstart.ipynb runs top to bottom on a real Jupyter kernel.

The notebook asserts what each cell shows, so executing it end to end (against the LocalHub it
starts itself) is a test of the documented workflow. The kernel is this interpreter: a
``python3`` kernelspec for ``sys.executable`` is installed into a temporary ``JUPYTER_PATH``
entry, never into the user's Jupyter directories.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import nbformat
import pytest
from ipykernel.kernelspec import install as install_kernelspec
from jupyter_client.kernelspec import KernelSpecManager
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parent.parent / "examples" / "quickstart.ipynb"
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


@pytest.fixture
def jupyter_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Jupyter and IPython state under tmp_path, and a python3 kernel running sys.executable."""
    prefix = tmp_path / "kernel-prefix"
    install_kernelspec(prefix=str(prefix), kernel_name="python3")
    monkeypatch.setenv("JUPYTER_PATH", str(prefix / "share" / "jupyter"))
    for variable, folder in (
        ("JUPYTER_CONFIG_DIR", "jupyter-config"),
        ("JUPYTER_DATA_DIR", "jupyter-data"),
        ("JUPYTER_RUNTIME_DIR", "jupyter-runtime"),
        ("IPYTHONDIR", "ipython"),
        ("TMPDIR", "kernel-tmp"),  # the notebook's work folders and the LocalHub's root
    ):
        (tmp_path / folder).mkdir()
        monkeypatch.setenv(variable, str(tmp_path / folder))
    # Progress bars are on by default; the notebook must run with them, so none is disabled.
    monkeypatch.delenv("HF_HUB_DISABLE_PROGRESS_BARS", raising=False)
    spec = KernelSpecManager().get_kernel_spec("python3")
    assert spec.argv[0] == sys.executable, spec.argv
    return tmp_path


def _progress_outputs(notebook: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    """Outputs that are progress bars: tqdm's text on stderr (redrawn with carriage returns),
    or its Jupyter widgets when ipywidgets is installed."""
    found = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            text_bar = output.get("name") == "stderr" and "\r" in output.get("text", "")
            widget_bar = WIDGET_MIME in output.get("data", {})
            if text_bar or widget_bar:
                found.append(output)
    return found


def test_quickstart_notebook_is_stored_as_nbformat_4_with_no_outputs() -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=nbformat.NO_CONVERT)
    nbformat.validate(notebook)
    assert notebook.nbformat == 4
    assert notebook.metadata.kernelspec.name == "python3"
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code_cells
    for cell in code_cells:
        assert cell.outputs == [], cell.source
        assert cell.execution_count is None, cell.source


def test_quickstart_notebook_runs_every_cell_on_a_real_kernel_with_progress_bars_on(
    jupyter_env: Path,
) -> None:
    workdir = jupyter_env / "notebook"
    workdir.mkdir()
    copy = workdir / NOTEBOOK.name
    shutil.copyfile(NOTEBOOK, copy)
    notebook = nbformat.read(copy, as_version=4)

    client = NotebookClient(
        notebook,
        timeout=45,
        startup_timeout=30,
        kernel_name="python3",
        resources={"metadata": {"path": str(workdir)}},
    )
    # Raises CellExecutionError, naming the cell and its traceback, if any cell fails.
    client.execute()

    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(cell.execution_count for cell in code_cells)
    assert _progress_outputs(notebook), "expected the default progress bars in the outputs"
    # The notebook's last cell removes its work folders; the LocalHub removes its own root.
    assert not list((jupyter_env / "kernel-tmp").iterdir())
