"""The realism table of the `cms-hep-tutorial-2012` sample: what lesson 1.1's ttbar selection rests on: per-process
yields, jet multiplicities, missing momentum, muon isolation, W + jets reaching four jets.

``python -m data_fetchers realism cms-hep-tutorial-2012`` measures it on the sample and on real data; the
machinery (the ``Figure`` record, the table, the command) is ``data_fetchers.realism``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from data_fetchers.realism import Figure, Realism


_TUTORIAL_REAL_FILES = {"single_top": "single_top.root", "ww": "ww.root", "wz": "wz.root", "zz": "uproot-HZZ.root"}
_TUTORIAL_PROMPT = ("single_top", "ww", "wz", "zz")


def _tutorial_file_figures(path: Path) -> dict[str, float]:
    import awkward as ak
    import uproot

    a = uproot.open(path)["events"].arrays(["Jet_Px", "Muon_Px", "Muon_Py", "Muon_Iso", "MET_px", "MET_py", "EventWeight"])
    w = ak.to_numpy(a.EventWeight).astype(np.float64)
    n_jets = np.minimum(ak.to_numpy(ak.num(a.Jet_Px)), 3)
    pt = np.hypot(a.Muon_Px, a.Muon_Py)
    lead = ak.argmax(pt, axis=1, keepdims=True)
    rel_iso = ak.to_numpy(ak.fill_none(ak.firsts(a.Muon_Iso[lead] / pt[lead]), np.nan))
    return {"weight": float(w.sum()), "met": float(np.median(ak.to_numpy(np.hypot(a.MET_px, a.MET_py)))),
            "rel_iso": rel_iso[np.isfinite(rel_iso)],
            **{f"jets{n}": float(w[n_jets == n].sum() / w.sum()) for n in range(4)}}


def _tutorial_figures(files: dict[str, Path]) -> dict[str, float]:
    per = {name: _tutorial_file_figures(path) for name, path in files.items()}
    figures = {f"{name}: sum of EventWeight (trigger-skimmed file)": per[name]["weight"] for name in _TUTORIAL_PROMPT}
    figures |= {f"WW: events with {n}{'+' if n == 3 else ''} jets (weighted share)": per["ww"][f"jets{n}"] for n in range(4)}
    figures |= {f"{name}: median missing ET [GeV]": per[name]["met"] for name in ("ww", "wz", "zz")}
    iso = np.concatenate([per[name]["rel_iso"] for name in _TUTORIAL_PROMPT])
    figures["leading muon Iso/pT, prompt processes: median"] = float(np.median(iso))
    figures["leading muon Iso/pT, prompt processes: share below 0.05"] = float(np.mean(iso < 0.05))
    return figures


def _w_jets_ratios(path: Path) -> dict[str, float]:
    """sigma(W + >= n jets) / sigma(W + >= n-1 jets) after lesson 1.1's muon selection (jets of
    30 GeV, |eta| < 2.4, jet ID, away from the muon), weighted."""
    import awkward as ak
    import uproot
    import vector

    vector.register_awkward()
    a = uproot.open(path)["events"].arrays()
    mu = ak.zip({"px": a.Muon_Px, "py": a.Muon_Py, "pz": a.Muon_Pz, "E": a.Muon_E, "iso": a.Muon_Iso}, with_name="Momentum4D")
    jets = ak.zip({"px": a.Jet_Px, "py": a.Jet_Py, "pz": a.Jet_Pz, "E": a.Jet_E, "id": a.Jet_ID}, with_name="Momentum4D")
    tight = mu[(mu.pt > 25) & (abs(mu.eta) < 2.1) & (mu.iso / mu.pt < 0.10)]
    jets = jets[(jets.pt > 30) & (abs(jets.eta) < 2.4) & jets.id]
    jet, muon = ak.unzip(ak.cartesian([jets, tight], nested=True))
    n = ak.to_numpy(ak.num(jets[ak.all(jet.deltaR(muon) > 0.4, axis=-1)]))
    w = ak.to_numpy(a.EventWeight).astype(np.float64) * ak.to_numpy(a.triggerIsoMu24 & (ak.num(tight) == 1))
    at_least = {k: w[n >= k].sum() for k in (2, 3, 4)}
    return {"W + jets: sigma(>= 3 jets) / sigma(>= 2 jets)": float(at_least[3] / at_least[2]),
            "W + jets: sigma(>= 4 jets) / sigma(>= 3 jets)": float(at_least[4] / at_least[3])}


def _tutorial_sample(path: Path) -> dict[str, float]:
    directory = path.parent
    return _tutorial_figures({name: directory / f"{name}.root" for name in _TUTORIAL_PROMPT}) | _w_jets_ratios(directory / "wjets.root")


def _tutorial_real(shared: Path) -> dict[str, float]:
    return _tutorial_figures({name: shared / "cms-hep-tutorial-2012" / f for name, f in _TUTORIAL_REAL_FILES.items()})


REALISM = Realism(
    figures=[
        Figure("single_top: sum of EventWeight (trigger-skimmed file)", 0.35, relative=True, fmt="{:.1f}"),
        *[Figure(f"{name}: sum of EventWeight (trigger-skimmed file)", 0.25, relative=True, fmt="{:.1f}")
          for name in ("ww", "wz", "zz")],
        *[Figure(f"WW: events with {n}{'+' if n == 3 else ''} jets (weighted share)", 0.06) for n in range(4)],
        *[Figure(f"{name}: median missing ET [GeV]", 5.0, fmt="{:.1f}") for name in ("ww", "wz", "zz")],
        Figure("leading muon Iso/pT, prompt processes: median", 0.008),
        Figure("leading muon Iso/pT, prompt processes: share below 0.05", 0.06),
        Figure("W + jets: sigma(>= 3 jets) / sigma(>= 2 jets)", 0.08),
        Figure("W + jets: sigma(>= 4 jets) / sigma(>= 3 jets)", 0.08),
    ],
    measure_sample=_tutorial_sample,
    measure_real=_tutorial_real,
    sample_member="ww.root",
    published={"W + jets: sigma(>= 3 jets) / sigma(>= 2 jets)": 0.2, "W + jets: sigma(>= 4 jets) / sigma(>= 3 jets)": 0.2},
    real_source=(
        "the real simulated files of the tutorial (record 212) in ../shared/data: single_top, ww, wz and zz, whose "
        "EventWeight normalises them to the tutorial's data; the W + jets ratios (jets of 30 GeV) from CMS, "
        "'Jet production rates in association with W and Z bosons in pp collisions at 7 TeV', JHEP 01 (2012) 010, "
        "arXiv:1110.3226: about 0.2 for each step (Berends-Giele scaling), read off its figure, hence the loose "
        "tolerance; the real ttbar, W + jets and Drell-Yan files are not in ../shared/data. Tolerances: 25 % on yields "
        "(NLO normalisation), 35 % for single top (tW is not generated)"),
    leaves_out=(
        "hadronisation, pile-up and the underlying event (added to the isolation and the missing momentum as "
        "parametrised terms), tW single top, and a real QCD simulation: the tutorial's QCD file (142 events whose "
        "weights span five orders of magnitude, most without a reconstructed muon) cannot calibrate the sample's "
        "heavy-flavour muons, whose rate is set so that QCD is about 1 % of the events after the muon selection "
        "(its missing ET median is 18 GeV, the real file's 24 GeV); W + jets beyond Pythia's W + 1 parton with a "
        "power shower"),
)
