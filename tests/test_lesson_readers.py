"""The lessons' own reading and selection code, run on real-format files from ../shared/data.

The code is taken from the notebook cells themselves (not a copy), so a change in a lesson
that breaks on the real format fails here even though the sample still works.
"""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import nbformat
import numpy as np
import uproot
import vector

ROOT = Path(__file__).resolve().parents[1]


def cell_defining(notebook: str, name: str) -> str:
    nb = nbformat.read(ROOT / "notebooks" / notebook, as_version=4)
    return next(c.source for c in nb.cells if c.cell_type == "code" and f"def {name}(" in c.source)


def test_ttbar_selection_runs_on_the_real_tutorial_format(shared_data):
    vector.register_awkward()
    namespace = {"ak": ak, "np": np, "BTAG_CUT": 1.74}
    exec(cell_defining("01-root-and-bdt/01-root-awkward-selection.ipynb", "analyse").split("\nresults =")[0], namespace)
    branches_cell = cell_defining("01-root-and-bdt/01-root-awkward-selection.ipynb", "read")
    exec(branches_cell.split("\n\ndef read")[0], namespace)  # the BRANCHES list
    events = uproot.open(shared_data / "cms-hep-tutorial-2012" / "uproot-HZZ.root")["events"].arrays(namespace["BRANCHES"])
    steps, weight, observables = namespace["analyse"](events, False)
    counts = [int(ak.sum(mask)) for mask in steps.values()]
    assert counts[0] == len(events) and counts == sorted(counts, reverse=True)
    assert counts[1] > 100  # real simulated events with one tight muon
    muon_pt = ak.to_numpy(ak.drop_none(observables["muon_pt"]))
    assert np.all(muon_pt > 25)
    assert float(ak.sum(weight)) > 0
