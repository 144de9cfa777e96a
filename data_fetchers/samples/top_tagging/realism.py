"""The realism table of the `top-tagging-2019` sample: the jet mass that lesson 2.1's mass window and BDT rest on.
The reference files are not in ../shared/data and no numeric figure of their mass distribution was
found published, so the sample's figures are shown, not checked.

``python -m data_fetchers realism top-tagging-2019`` measures it on the sample and on real data; the
machinery (the ``Figure`` record, the table, the command) is ``data_fetchers.realism``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from data_fetchers.realism import Figure, Realism


def _top_tagging_sample(path: Path) -> dict[str, float]:
    frame = pd.read_hdf(path, "table")
    constituents = frame[[f"{k}_{i}" for i in range(200) for k in ("E", "PX", "PY", "PZ")]].to_numpy(np.float64).reshape(-1, 200, 4)
    jet = constituents.sum(axis=1)
    mass = np.sqrt(np.maximum(jet[:, 0] ** 2 - (jet[:, 1:] ** 2).sum(axis=1), 0))
    top = frame.is_signal_new.to_numpy() == 1
    n = (constituents[..., 0] > 0).sum(axis=1)
    t, q = mass[top], mass[~top]
    window = -np.abs(mass - 172.5)
    threshold = np.quantile(window[top], 0.5)
    return {"top jets: median mass [GeV]": float(np.median(t)),
            "top jets: median distance of the mass from 172.5 GeV [GeV]": float(np.median(np.abs(t - 172.5))),
            "top jets: mass below 120 GeV, share": float(np.mean(t < 120)),
            "top jets: mass 60-100 GeV (a W without its b), share": float(np.mean((t > 60) & (t < 100))),
            "QCD jets: median mass [GeV]": float(np.median(q)),
            "top jets: mean number of constituents": float(n[top].mean()),
            "QCD jets: mean number of constituents": float(n[~top].mean()),
            "mass window around 172.5 GeV: 1/eps_B at eps_S = 0.5": float(1 / np.mean(window[~top] >= threshold))}


REALISM = Realism(
    figures=[Figure(name, 0.0, fmt=fmt, checked=False) for name, fmt in (
        ("top jets: median mass [GeV]", "{:.1f}"),
        ("top jets: median distance of the mass from 172.5 GeV [GeV]", "{:.1f}"),
        ("top jets: mass below 120 GeV, share", "{:.3f}"),
        ("top jets: mass 60-100 GeV (a W without its b), share", "{:.3f}"),
        ("QCD jets: median mass [GeV]", "{:.1f}"),
        ("top jets: mean number of constituents", "{:.1f}"),
        ("QCD jets: mean number of constituents", "{:.1f}"),
        ("mass window around 172.5 GeV: 1/eps_B at eps_S = 0.5", "{:.1f}"))],
    measure_sample=_top_tagging_sample,
    measure_real=lambda shared: {},
    sample_member="test.h5",
    real_source=(
        "none yet: the reference files (Zenodo 2603256) are not in ../shared/data, and no numeric figure of their "
        "jet-mass distribution was found published; the sample follows the reference's documented recipe (Pythia 8 "
        "at 14 TeV without MPI, Delphes ATLAS card energy flow, anti-kT 0.8, leading jet, 550-650 GeV, |eta| < 2, "
        "top and its decay quarks within 0.8)"),
    leaves_out=(
        "Delphes itself (the energy flow is re-implemented from its ATLAS card: no magnetic field, no separate ECAL "
        "and HCAL towers), and a check against the real files: the sample's top-jet mass peak is narrow and has "
        "almost no W shoulder, which favours the mass-based taggers of lesson 2.1 over what the reference would give"),
)
