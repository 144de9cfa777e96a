"""Simulated stand-in for the ATLAS Higgs machine-learning challenge 2014 (record 328).

**Processes.** Pythia 8 (pythia8mc), proton-proton collisions at sqrt(s) = 8 TeV, in the
challenge's lepton + hadronic-tau final state:

| label | process (Pythia 8 switches) |
|---|---|
| signal (`Label` = 1) | H(125) -> tau tau via gluon fusion `HiggsSM:gg2H` and vector-boson fusion `HiggsSM:ff2Hff(t:WW)`, `(t:ZZ)` |
| background (0) | Z/gamma* -> tau tau, `WeakSingleBoson:ffbar2gmZ`, mHat > 60 GeV |
| background (0) | ttbar, `Top:gg2ttbar`, `Top:qqbar2ttbar`, all W decays |
| background (0) | W + jet, `WeakBosonAndParton:qqbar2Wg`, `qg2Wq`, pTHat > 20 GeV, W -> e nu, mu nu, tau nu |

Multiparton interactions and hadronisation are off; tau decays use Pythia's standard decay
tables without spin correlations (`TauDecays:mode = 0`), which is 60 times faster but loses
the small H/Z difference in how the tau momentum is shared between its decay products.
Events without an electron or muon above 24 GeV are counted but not reconstructed (they
cannot pass the 26 GeV lepton requirement). Half of the generated events are Z -> tau tau,
the background whose statistics limit the sample.

**Reconstruction** (simple and documented, not ATLAS's simulation):
- the lepton: an electron or muon (prompt or from a tau decay) with pT > 26 GeV and
  |eta| < 2.5, 95 % efficiency, 1.5 % pT resolution; exactly one is required;
- the hadronic tau: the visible part of a hadronically decaying tau (tau minus its
  neutrinos) with pT > 20 GeV and |eta| < 2.5, 55 % efficiency, 5 % pT resolution. In
  ttbar and W + jets events without one, the leading jet stands in for a tau faking jet and
  the event weight is multiplied by a fake rate of 1 % (a *fake-factor* weight that keeps
  the simulated statistics);
- jets: anti-kT R = 0.4 (fastjet) on visible particles except leptons, pT > 30 GeV,
  |eta| < 4.5, energy resolution 100 %/sqrt(E) (+) 5 %, the jet on the tau removed;
- missing transverse momentum: the neutrinos' vector sum plus a Gaussian of
  0.5 sqrt(sum ET / GeV) GeV per component; `PRI_met_sumet` is the visible scalar pT sum plus
  an underlying-event term (gamma distribution of mean 120 GeV), since MPI are off.

**Columns** as in the challenge: the 17 `PRI_*` primitives, the 13 `DER_*` features computed
with the formulas of the challenge documentation (Adam-Bourdarios et al. 2014, appendix B),
-999.0 where a feature is undefined (jet features with too few jets), `EventId`, `Weight`,
`Label`, `KaggleSet`, `KaggleWeight`. `DER_mass_MMC` (ATLAS's Missing Mass Calculator)
cannot be reproduced: it is **approximated by the collinear mass** m_vis / sqrt(x_tau x_lep),
with the visible momentum fractions x from projecting the MET on the tau and the lepton,
negative neutrino shares set to zero and x clipped to [0.1, 1]; undefined (-999) when the
MET points away from both, as MMC is undefined for some events.
In the ROOT file `Label` is 1 (signal, 's') or 0 (background, 'b') and `KaggleSet` is the
character code of the challenge's letter ('t' training, 'b' public, 'v' private); the
sample's events are split 50/25/25 % in that order, and `KaggleWeight` renormalises
`Weight` within each part. `Weight` = sigma x L / N x (fake rate) with L = 20 fb^-1 and
Pythia's leading-order cross-sections.
"""

from __future__ import annotations

from array import array
from pathlib import Path

import awkward as ak
import numpy as np
import uproot
import vector
from tqdm import tqdm

from . import SampleRecipe
from ._common import calorimeter_jets, keep_with_efficiency, make_pythia, smear

FILENAME = "atlas-higgs-challenge-2014-v2.root"
LUMINOSITY_PB = 20_000.0
FAKE_RATE = 0.01
MISSING = -999.0
COLUMNS = [
    "EventId", "DER_mass_MMC", "DER_mass_transverse_met_lep", "DER_mass_vis", "DER_pt_h",
    "DER_deltaeta_jet_jet", "DER_mass_jet_jet", "DER_prodeta_jet_jet", "DER_deltar_tau_lep",
    "DER_pt_tot", "DER_sum_pt", "DER_pt_ratio_lep_tau", "DER_met_phi_centrality",
    "DER_lep_eta_centrality", "PRI_tau_pt", "PRI_tau_eta", "PRI_tau_phi", "PRI_lep_pt",
    "PRI_lep_eta", "PRI_lep_phi", "PRI_met", "PRI_met_phi", "PRI_met_sumet", "PRI_jet_num",
    "PRI_jet_leading_pt", "PRI_jet_leading_eta", "PRI_jet_leading_phi", "PRI_jet_subleading_pt",
    "PRI_jet_subleading_eta", "PRI_jet_subleading_phi", "PRI_jet_all_pt", "Weight", "Label",
    "KaggleSet", "KaggleWeight",
]
_COMMON = ["Beams:eCM = 8000", "PartonLevel:MPI = off", "HadronLevel:Hadronize = off",
           "TauDecays:mode = 0", "Print:quiet = on"]
PROCESSES = {  # name: (label, Pythia settings, share of generated events)
    "htautau": (1, ["HiggsSM:gg2H = on", "HiggsSM:ff2Hff(t:WW) = on", "HiggsSM:ff2Hff(t:ZZ) = on",
                    "25:m0 = 125", "25:onMode = off", "25:onIfMatch = 15 -15"], 0.20),
    "ztautau": (0, ["WeakSingleBoson:ffbar2gmZ = on", "PhaseSpace:mHatMin = 60",
                    "23:onMode = off", "23:onIfMatch = 15 -15"], 0.55),
    "ttbar": (0, ["Top:gg2ttbar = on", "Top:qqbar2ttbar = on"], 0.15),
    "wjets": (0, ["WeakBosonAndParton:qqbar2Wg = on", "WeakBosonAndParton:qg2Wq = on",
                  "PhaseSpace:pTHatMin = 20", "24:onMode = off", "24:onIfAny = 11 13 15"], 0.10),
}


class _Buffers:
    """Flat buffers of particle components and per-event counts.

    Python lists of tuples for ~10^5 events would take over a gigabyte; flat ``array('d')``
    buffers take a few bytes per number and become awkward arrays without copying twice.
    """

    FIELDS = {"visible": 4, "neutrinos": 2, "leptons": 5, "taus": 5}

    def __init__(self):
        self.values = {k: array("d") for k in self.FIELDS}
        self.counts = {k: array("l") for k in self.FIELDS}

    def add_event(self, event):
        """Record final visible particles, neutrinos, leptons and visible hadronic taus."""
        n = dict.fromkeys(self.FIELDS, 0)
        v = self.values
        for p in event:
            aid = abs(p.id())
            if aid == 15 and p.daughter1() > 0 and abs(event[p.daughter1()].id()) != 15:
                daughters = [event[k] for k in range(p.daughter1(), p.daughter2() + 1)]
                if not any(abs(d.id()) in (11, 13) for d in daughters):  # hadronic decay
                    nus = [d for d in daughters if abs(d.id()) in (12, 14, 16)]
                    v["taus"].extend((p.px() - sum(d.px() for d in nus), p.py() - sum(d.py() for d in nus),
                                      p.pz() - sum(d.pz() for d in nus), p.e() - sum(d.e() for d in nus),
                                      -np.sign(p.id())))
                    n["taus"] += 1
            if not p.isFinal():
                continue
            if aid in (12, 14, 16):
                v["neutrinos"].extend((p.px(), p.py()))
                n["neutrinos"] += 1
            elif aid in (11, 13):
                v["leptons"].extend((p.px(), p.py(), p.pz(), p.e(), -np.sign(p.id())))
                n["leptons"] += 1
            else:
                v["visible"].extend((p.px(), p.py(), p.pz(), p.e()))
                n["visible"] += 1
        for k in self.FIELDS:
            self.counts[k].append(n[k])

    def jagged(self, kind, fields, with_name="Momentum4D"):
        flat = np.frombuffer(self.values[kind], dtype=np.float64).reshape(-1, self.FIELDS[kind])
        content = {f: flat[:, i] for i, f in enumerate(fields)}
        return ak.unflatten(ak.zip(content, with_name=with_name), np.frombuffer(self.counts[kind], dtype=np.int64))


def _may_pass(event) -> bool:
    """Cheap pre-filter: a final electron or muon above 24 GeV (the selection asks 26 GeV after
    a 1.5 % resolution, so no event that could pass is lost). Skipping the full bookkeeping
    for the ~80 % of tau-tau events that fail makes generation several times faster."""
    return any(p.isFinal() and p.idAbs() in (11, 13) and p.pT() > 24 for p in event)


def _generate(settings, n, seed, progress):
    pythia = make_pythia(_COMMON + settings, seed)
    buffers, accepted = _Buffers(), 0
    while accepted < n:
        if not pythia.next():
            continue
        accepted += 1  # every generated event counts in sigma x L / N, filtered or not
        progress.update()
        if _may_pass(pythia.event):
            buffers.add_event(pythia.event)
    sigma_pb = pythia.infoPython().sigmaGen() * 1e9
    return buffers, sigma_pb


def _reconstruct(buffers: _Buffers, rng, allow_fake: bool) -> dict:
    visible = buffers.jagged("visible", ["px", "py", "pz", "E"])
    nu = buffers.jagged("neutrinos", ["px", "py"], with_name="Momentum2D")
    leptons = buffers.jagged("leptons", ["px", "py", "pz", "E", "charge"])
    taus = buffers.jagged("taus", ["px", "py", "pz", "E", "charge"])
    n = len(visible)

    # resolution first, then the reconstruction-level cuts
    leptons = smear(leptons[abs(leptons.eta) < 2.5], 0.015, rng)
    leptons = keep_with_efficiency(leptons[leptons.pt > 26], 0.95, rng)
    taus = smear(taus[abs(taus.eta) < 2.5], 0.05, rng)
    taus = keep_with_efficiency(taus[taus.pt > 20], 0.55, rng)

    jets = calorimeter_jets(visible, 0.4, rng)
    jets = jets[(jets.pt > 20) & (abs(jets.eta) < 4.5)]
    jets = jets[ak.argsort(jets.pt, ascending=False)]

    has_tau = ak.num(taus) >= 1
    weight_factor = np.ones(n)
    tau = ak.firsts(taus[ak.argsort(taus.pt, ascending=False)])
    if allow_fake:  # the leading jet fakes the tau where there is no real one
        jet_tau = ak.firsts(jets[abs(jets.eta) < 2.5])
        fake = ~has_tau & ~ak.is_none(jet_tau)
        tau = ak.where(fake, jet_tau, tau)
        weight_factor = np.where(ak.to_numpy(fake), FAKE_RATE, 1.0)
        has_tau = has_tau | fake
    tau = ak.zip({"px": tau.px, "py": tau.py, "pz": tau.pz, "E": tau.E}, with_name="Momentum4D")
    # remove the jet on the tau, then keep the challenge's 30 GeV jets
    jets = jets[~ak.fill_none(jets.deltaR(tau) < 0.4, False)]
    jets = jets[jets.pt > 30]

    selected = ak.to_numpy((ak.num(leptons) == 1) & ak.fill_none(has_tau, False) & ak.fill_none(tau.pt > 20, False))
    lep = ak.firsts(leptons)[selected]
    tau, jets, nu = tau[selected], jets[selected], nu[selected]
    m = int(selected.sum())

    sumet_visible = ak.to_numpy(ak.sum(visible.pt, axis=1))[selected]
    sumet = sumet_visible + ak.to_numpy(ak.sum(leptons.pt, axis=1))[selected] + rng.gamma(4.0, 30.0, m)
    resolution = 0.5 * np.sqrt(sumet)
    met_x = ak.to_numpy(ak.sum(nu.px, axis=1)) + rng.normal(0, 1, m) * resolution
    met_y = ak.to_numpy(ak.sum(nu.py, axis=1)) + rng.normal(0, 1, m) * resolution
    cols = primitives(lep, tau, jets, met_x, met_y, sumet)
    cols.update(derived(cols))
    cols["_weight_factor"] = weight_factor[selected]
    return cols


def primitives(lep, tau, jets, met_x, met_y, sumet) -> dict:
    """The PRI_* columns from reconstructed objects (awkward arrays, one entry per event)."""
    n_jets = ak.to_numpy(ak.num(jets))
    first, second = ak.pad_none(jets, 2)[:, 0], ak.pad_none(jets, 2)[:, 1]
    np_ = lambda x: ak.to_numpy(ak.fill_none(x, MISSING)).astype(np.float64)
    return {
        "PRI_tau_pt": np_(tau.pt), "PRI_tau_eta": np_(tau.eta), "PRI_tau_phi": np_(tau.phi),
        "PRI_lep_pt": np_(lep.pt), "PRI_lep_eta": np_(lep.eta), "PRI_lep_phi": np_(lep.phi),
        "PRI_met": np.hypot(met_x, met_y), "PRI_met_phi": np.arctan2(met_y, met_x), "PRI_met_sumet": sumet,
        "PRI_jet_num": np.minimum(n_jets, 3).astype(np.float64),
        "PRI_jet_leading_pt": np_(first.pt), "PRI_jet_leading_eta": np_(first.eta),
        "PRI_jet_leading_phi": np_(first.phi), "PRI_jet_subleading_pt": np_(second.pt),
        "PRI_jet_subleading_eta": np_(second.eta), "PRI_jet_subleading_phi": np_(second.phi),
        "PRI_jet_all_pt": ak.to_numpy(ak.sum(jets.pt, axis=1)).astype(np.float64),
    }


def derived(c: dict) -> dict:
    """The DER_* features from the PRI_* columns, with the challenge documentation's formulas."""
    def vec(pt, eta, phi):
        return vector.array({"pt": pt, "eta": eta, "phi": phi, "mass": np.zeros_like(pt)})

    tau = vec(c["PRI_tau_pt"], c["PRI_tau_eta"], c["PRI_tau_phi"])
    lep = vec(c["PRI_lep_pt"], c["PRI_lep_eta"], c["PRI_lep_phi"])
    met_x, met_y = c["PRI_met"] * np.cos(c["PRI_met_phi"]), c["PRI_met"] * np.sin(c["PRI_met_phi"])
    n_jets = c["PRI_jet_num"]
    one, two = n_jets >= 1, n_jets >= 2
    j1 = vec(np.where(one, c["PRI_jet_leading_pt"], 0), np.where(one, c["PRI_jet_leading_eta"], 0),
             np.where(one, c["PRI_jet_leading_phi"], 0))
    j2 = vec(np.where(two, c["PRI_jet_subleading_pt"], 0), np.where(two, c["PRI_jet_subleading_eta"], 0),
             np.where(two, c["PRI_jet_subleading_phi"], 0))

    out = {}
    dphi_met_lep = np.arctan2(met_y, met_x) - lep.phi
    out["DER_mass_transverse_met_lep"] = np.sqrt(np.maximum(2 * lep.pt * c["PRI_met"] * (1 - np.cos(dphi_met_lep)), 0))
    out["DER_mass_vis"] = (tau + lep).mass
    out["DER_pt_h"] = np.hypot(tau.px + lep.px + met_x, tau.py + lep.py + met_y)
    out["DER_deltaeta_jet_jet"] = np.where(two, np.abs(j1.eta - j2.eta), MISSING)
    out["DER_mass_jet_jet"] = np.where(two, (j1 + j2).mass, MISSING)
    out["DER_prodeta_jet_jet"] = np.where(two, j1.eta * j2.eta, MISSING)
    out["DER_deltar_tau_lep"] = tau.deltaR(lep)
    out["DER_pt_tot"] = np.hypot(tau.px + lep.px + met_x + np.where(one, j1.px, 0) + np.where(two, j2.px, 0),
                                 tau.py + lep.py + met_y + np.where(one, j1.py, 0) + np.where(two, j2.py, 0))
    out["DER_sum_pt"] = tau.pt + lep.pt + c["PRI_jet_all_pt"]
    out["DER_pt_ratio_lep_tau"] = lep.pt / tau.pt
    # centrality of the MET direction between the lepton and the tau (sqrt(2) when half-way)
    sign = np.sign(np.sin(tau.phi - lep.phi))
    a = np.sin(c["PRI_met_phi"] - lep.phi) * sign
    b = np.sin(tau.phi - c["PRI_met_phi"]) * sign
    with np.errstate(invalid="ignore", divide="ignore"):
        out["DER_met_phi_centrality"] = np.nan_to_num((a + b) / np.sqrt(a ** 2 + b ** 2))
        out["DER_lep_eta_centrality"] = np.where(
            two, np.exp(-4 / (j1.eta - j2.eta) ** 2 * (lep.eta - (j1.eta + j2.eta) / 2) ** 2), MISSING)
        # DER_mass_MMC approximated by the collinear mass (see the module docstring)
        det = tau.px * lep.py - tau.py * lep.px
        nu_tau = (met_x * lep.py - met_y * lep.px) / det  # MET = nu_tau * tau_T + nu_lep * lep_T
        nu_lep = (tau.px * met_y - tau.py * met_x) / det
        # undefined when the MET points away from both (no neutrino share is positive);
        # otherwise the visible fractions x are clipped to [0.1, 1] to tame resolution effects
        ok = ((nu_tau > 0) | (nu_lep > 0)) & np.isfinite(nu_tau) & np.isfinite(nu_lep)
        x_tau = np.clip(1 / (1 + np.maximum(nu_tau, 0)), 0.1, 1)
        x_lep = np.clip(1 / (1 + np.maximum(nu_lep, 0)), 0.1, 1)
        out["DER_mass_MMC"] = np.where(ok, out["DER_mass_vis"] / np.sqrt(x_tau * x_lep), MISSING)
    return out


def _write(path: Path, cols: dict) -> None:
    with uproot.recreate(path) as f:
        types = {name: (np.int32 if name in ("EventId", "Label", "KaggleSet") else np.float32) for name in COLUMNS}
        f.mktree("higgsml", types)
        f["higgsml"].extend({name: cols[name].astype(types[name]) for name in COLUMNS})


def generate(directory: Path, n_events: int, seed: int) -> None:
    vector.register_awkward()
    rng = np.random.default_rng(seed)
    parts = []
    sizes = {name: max(100, int(round(share * n_events))) for name, (_, _, share) in PROCESSES.items()}
    with tqdm(total=sum(sizes.values()), desc="Pythia 8 events", unit="ev") as progress:
        for k, (name, (label, settings, _)) in enumerate(PROCESSES.items()):
            buffers, sigma = _generate(settings, sizes[name], seed + 100 * k, progress)
            cols = _reconstruct(buffers, rng, allow_fake=name in ("ttbar", "wjets"))
            del buffers
            cols["Weight"] = sigma * LUMINOSITY_PB / sizes[name] * cols.pop("_weight_factor")
            cols["Label"] = np.full(len(cols["Weight"]), label)
            parts.append(cols)
    cols = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    order = rng.permutation(len(cols["Weight"]))
    cols = {k: v[order] for k, v in cols.items()}
    n = len(order)
    cols["EventId"] = 100000 + np.arange(n)
    kaggle = np.full(n, ord("t"))
    kaggle[n // 2: 3 * n // 4] = ord("b")
    kaggle[3 * n // 4:] = ord("v")
    cols["KaggleSet"] = kaggle
    cols["KaggleWeight"] = np.empty(n)
    for letter in "tbv":  # each part normalised to the total expected yields, as in the challenge
        part = kaggle == ord(letter)
        for label in (0, 1):
            sel = part & (cols["Label"] == label)
            cols["KaggleWeight"][sel] = cols["Weight"][sel] * cols["Weight"][cols["Label"] == label].sum() / max(cols["Weight"][sel].sum(), 1e-300)
    _write(directory / FILENAME, cols)


RECIPE = SampleRecipe(
    dataset="atlas-higgsml-2014",
    version=2,
    seed=328,
    n_events=200_000,
    summary="Pythia 8 H to tau tau (signal), Z to tau tau, ttbar and W+jets at 8 TeV in the lepton + hadronic-tau channel, challenge columns with documented approximations",
    doc=__doc__,
    generate=generate,
)


def csv_to_root(csv_path: Path, root_path: Path, chunk_rows: int = 200_000) -> None:
    """Convert the challenge's CSV (full mode) to the sample's ROOT layout, chunk by chunk.

    Label 's'/'b' becomes 1/0 and KaggleSet letters become their character codes, so that
    the lesson reads both modes with the same code.
    """
    import pandas as pd

    types = {name: (np.int32 if name in ("EventId", "Label", "KaggleSet") else np.float32) for name in COLUMNS}
    with uproot.recreate(root_path) as f:
        f.mktree("higgsml", types)
        for chunk in pd.read_csv(csv_path, chunksize=chunk_rows):
            missing = [c for c in COLUMNS if c not in chunk.columns]
            if missing:
                raise ValueError(f"{csv_path.name} lacks the columns {missing}")
            chunk["Label"] = (chunk["Label"] == "s").astype(np.int32)
            chunk["KaggleSet"] = chunk["KaggleSet"].map(ord).astype(np.int32)
            f["higgsml"].extend({name: chunk[name].to_numpy().astype(types[name]) for name in COLUMNS})
