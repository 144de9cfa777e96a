"""The realism table of the `cms-dimuon-2012` sample: the Z peak that chapter 5 infers m_Z and Gamma_Z from, and the
J/psi transverse momenta that lesson 0 explains by the trigger.

``python -m data_fetchers realism cms-dimuon-2012`` measures it on the sample and on real data; the
machinery (the ``Figure`` record, the table, the command) is ``data_fetchers.realism``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from data_fetchers.realism import Figure, Realism


_Z_FILES = {"CMS 2012, 81 candidates": "2012", "CMS 2010, 474 candidates": "2010"}


def _z_peak_figures(masses: np.ndarray, suffix: str) -> dict[str, float]:
    q16, q50, q84 = np.percentile(masses, [16, 50, 84])
    return {f"Z candidates: median mass [GeV] ({suffix})": float(q50),
            f"Z candidates: half-width of the 16-84 % range [GeV] ({suffix})": float((q84 - q16) / 2),
            f"Z candidates below 86 GeV, share ({suffix})": float(np.mean(masses < 86))}


_JPSI_QUANTILES = (16, 50)  # where the trigger starts the spectrum, and its middle (lesson 0's exercise)


def _jpsi_figures(path: Path) -> dict[str, float]:
    """Transverse momenta of J/psi candidates (events with exactly two opposite-charge muons, 2.95 < m <
    3.25 GeV, as lesson 0 selects them): where the trigger lets the spectrum start."""
    import awkward as ak
    import uproot
    import vector

    vector.register_awkward()
    a = uproot.open(path)["Events"].arrays(["nMuon", "Muon_pt", "Muon_eta", "Muon_phi", "Muon_mass", "Muon_charge"])
    two = a[(a.nMuon == 2) & (ak.sum(a.Muon_charge, axis=1) == 0)]
    mu = ak.zip({"pt": two.Muon_pt, "eta": two.Muon_eta, "phi": two.Muon_phi, "mass": two.Muon_mass},
                with_name="Momentum4D")
    pair = mu[:, 0] + mu[:, 1]
    mass, pt = ak.to_numpy(pair.mass), ak.to_numpy(pair.pt)
    selected = pt[(mass > 2.95) & (mass < 3.25)]
    return {f"J/psi candidates: pT {q}th percentile [GeV]": float(np.percentile(selected, q)) for q in _JPSI_QUANTILES}


def _dimuon_sample(path: Path) -> dict[str, float]:
    from hepml.zboson import read_dimuon_masses

    masses = read_dimuon_masses(path, progress=False)
    return {k: v for suffix in _Z_FILES for k, v in _z_peak_figures(masses, suffix).items()} | _jpsi_figures(path)


def _dimuon_real(shared: Path) -> dict[str, float]:
    import uproot

    from hepml.zboson import ETA_MAX, PT_MIN, WINDOW, read_dimuon_masses

    masses_2012 = read_dimuon_masses(shared / "cms-opendata" / "Run2012BC_DoubleMuParked_Muons_1000evts_rntuple_v1-0-0-0.root",
                                     progress=False)
    # the 2010 file lists some events twice (global and tracker muon pairs): one pair per event
    z = pd.DataFrame(uproot.open(shared / "cms-opendata" / "uproot-Zmumu.root")["events"].arrays(
        ["Run", "Event", "Q1", "Q2", "pt1", "pt2", "eta1", "eta2", "M"], library="np")).drop_duplicates(["Run", "Event"])
    selected = ((z.Q1 * z.Q2 < 0) & (z.pt1 > PT_MIN) & (z.pt2 > PT_MIN) & (z.eta1.abs() < ETA_MAX)
                & (z.eta2.abs() < ETA_MAX) & (z.M > WINDOW[0]) & (z.M < WINDOW[1]))
    masses_2010 = z.M[selected].to_numpy()
    suffixes = list(_Z_FILES)
    return (_z_peak_figures(masses_2012, suffixes[0]) | _z_peak_figures(masses_2010, suffixes[1])
            | _jpsi_figures(shared / "cms-opendata" / "Run2012BC_DoubleMuParked_Muons_1000evts_rntuple_v1-0-0-0.root"))


# tolerances: three bootstrap standard deviations of the real figure (81 and 474 candidates)
_Z_TOLERANCES = {"2012": (1.5, 1.7, 0.13), "2010": (0.4, 0.75, 0.05)}
REALISM = Realism(
    figures=[Figure(name, tol, fmt="{:.3f}" if "share" in name else "{:.2f}")
             for suffix, year in _Z_FILES.items()
             for name, tol in zip(_z_peak_figures(np.array([91.0]), suffix), _Z_TOLERANCES[year])]
    # three bootstrap standard deviations of the 47 real J/psi candidates' percentiles (1.7 and 1.1 GeV)
    + [Figure(f"J/psi candidates: pT {q}th percentile [GeV]", tol, fmt="{:.1f}")
       for q, tol in zip(_JPSI_QUANTILES, (5.0, 3.2))],
    measure_sample=_dimuon_sample,
    measure_real=_dimuon_real,
    real_source=(
        "Z candidates (exactly two opposite-charge muons, both pT > 20 GeV and |eta| < 2.4, 70-110 GeV, as chapter 5 "
        "selects them) in the 1000 real 2012 DoubleMuParked events of ../shared/data (81 candidates: the dataset "
        "itself, so loose tolerances) and in the real CMS 2010 Z file (uproot-Zmumu.root, 474 distinct events, "
        "2010 detector conditions, 7 TeV); the J/psi candidates' transverse momenta (exactly two opposite-charge "
        "muons, 2.95-3.25 GeV) in the same 1000 real 2012 events (47 candidates), which the sample's effective "
        "trigger is calibrated on; tolerances are three bootstrap standard deviations of each real figure"),
    leaves_out=(
        "the muon resolution's dependence on eta (the real 2012 peak is wider: half-width 4.1 against 3.0 GeV, two "
        "standard deviations of its 81 candidates), the uncalibrated momentum scale of the real files, and backgrounds "
        "beyond Drell-Yan (ttbar, dibosons, misidentified muons); the low-mass resonances (eta, rho/omega, phi, "
        "psi(2S)), J/psi from b-hadron decays and colour-octet production (so the real J/psi spectrum has a harder tail: "
        "its 84th percentile is 35.5 GeV, the sample's 30.1 GeV) and cross-section-weighted "
        "process fractions (the sample mixes fixed numbers of J/psi, Upsilon, Drell-Yan and Z events); and dimuons from heavy-"
        "flavour (b and c hadron) decays, which fill the real continuum between the J/psi and the Upsilon (where the "
        "sample's trigger leaves Drell-Yan depleted) and make same-sign pairs far more common in real data (in the 1000 "
        "real events a quarter of the two-muon events are same-sign, in the sample 2 %)"),
)
