"""examples/notebook.ipynb runs to its end on the example pallet and draws both contours."""
import os

import nbformat
from nbclient import NotebookClient

from conftest import REPO


def test_notebook_runs(tmp_path, pallet):
    nb = nbformat.read(REPO / "examples" / "notebook.ipynb", as_version=4)
    os.environ["FITFLEET_PALLET"] = str(os.path.dirname(pallet[0]))
    os.environ.pop("FITFLEET_NOTEBOOK_FLEET", None)
    client = NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    for name in ("contour.png", "contour-matplotlib.png"):
        image = tmp_path / name
        assert image.is_file() and image.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
    outputs = "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []))
    assert "observed CLs = " in outputs
    assert "54 signal points, 54 succeeded" in outputs
