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
cannot pass the 26 GeV lepton requirement). Of the generated events 35 % are signal, 40 %
Z -> tau tau, 5 % ttbar and 20 % W + jet (a fixed mixture: unweighted shares of the file's
rows reflect these numbers, not physics; the weights carry the cross-sections).

**Reconstruction** (simple and documented, not ATLAS's simulation):
- the lepton: an electron or muon (prompt or from a tau decay) with pT > 26 GeV and
  |eta| < 2.5, 95 % efficiency, 1.5 % pT resolution; exactly one is required;
- the hadronic tau: the visible part of a hadronically decaying tau (tau minus its
  neutrinos) with pT > 20 GeV and |eta| < 2.5, 55 % efficiency, 5 % pT resolution. In
  ttbar and W + jets events without one, a jet fakes it (the *fake-factor* method, which keeps
  the simulated statistics): each jet with |eta| < 2.5 is a candidate whose tau-candidate pT
  is 0.8 of the jet's, with a fake rate of 3 % at 20 GeV falling as exp(-(pT - 20 GeV)/20 GeV);
  one candidate is chosen with probability proportional to its rate and the event weight is
  multiplied by the sum of the rates. Since jet spectra fall steeply, most fakes are soft
  jets and the harder recoiling jet stays a jet;
- jets: anti-kT R = 0.4 (fastjet) on visible particles except leptons, pT > 30 GeV,
  |eta| < 4.5, energy resolution 100 %/sqrt(E) (+) 5 %, the jet on the tau removed. W + jets
  is generated with initial-state radiation allowed up to 1.5 times the hard scale
  (Pythia's default, 1, leaves too few W + 2-parton events);
- missing transverse momentum: the neutrinos' vector sum plus a Gaussian of
  1.0 sqrt(sum ET / GeV) GeV per component (pile-up included); `PRI_met_sumet` is the scalar pT
  sum of the visible particles within |eta| < 4.9 and the lepton plus an underlying-event term
  (gamma distribution of mean 20 GeV), since MPI are off.

**Columns** as in the challenge: the 17 `PRI_*` primitives, the 12 `DER_*` features with
closed formulas computed as the challenge documentation gives them (Adam-Bourdarios et al.
2014, appendix B), -999.0 where a feature is undefined (jet features with too few jets),
`EventId`, `Weight`, `Label`, `KaggleSet`, `KaggleWeight`. `DER_mass_MMC` (ATLAS's Missing Mass
Calculator, an algorithm, not a formula) is replaced by a stand-in (`mass_mmc_standin`): a
likelihood scan over the neutrinos' configurations, weighted by how well they reproduce the
missing transverse momentum, whose most probable mass is the estimate; undefined (-999) when
no configuration does, as MMC is for some events. Its undefined fractions and resolution are
on the Data page's realism table, beside the real file's.
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

from hepml.higgsml import MISSING, derived  # the challenge's feature formulas, shared with lesson 1.2

from .. import SampleRecipe
from .._common import calorimeter_jets, keep_with_efficiency, make_pythia, smear

FILENAME = "atlas-higgs-challenge-2014-v2.root"
LUMINOSITY_PB = 20_000.0
FAKE_RATE = 0.03  # jet -> tau fake rate at 20 GeV (tau-candidate pT)
FAKE_RATE_SLOPE = 20.0  # GeV: e-folding of the fake rate with jet pT
FAKE_TAU_RESPONSE = 0.8  # a fake tau's pT over its jet's
UNDERLYING_EVENT_SUMET = (2.0, 10.0)  # gamma shape and scale [GeV]: the sum ET of MPI and pile-up, which are off
MET_RESOLUTION = 1.0  # GeV^1/2: sigma per component = MET_RESOLUTION sqrt(sum ET / GeV), pile-up included
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
                    "25:m0 = 125", "25:onMode = off", "25:onIfMatch = 15 -15"], 0.35),
    "ztautau": (0, ["WeakSingleBoson:ffbar2gmZ = on", "PhaseSpace:mHatMin = 60",
                    "23:onMode = off", "23:onIfMatch = 15 -15"], 0.40),
    "ttbar": (0, ["Top:gg2ttbar = on", "Top:qqbar2ttbar = on"], 0.05),
    # ISR up to 1.5 times the hard scale: Pythia's default (1x) gives 84 % of W + jets events no
    # second jet, where ATLAS's multi-parton W + jets has about 70 % (the realism table)
    "wjets": (0, ["WeakBosonAndParton:qqbar2Wg = on", "WeakBosonAndParton:qg2Wq = on",
                  "PhaseSpace:pTHatMin = 20", "24:onMode = off", "24:onIfAny = 11 13 15",
                  "SpaceShower:pTmaxMatch = 1", "SpaceShower:pTmaxFudge = 1.5"], 0.20),
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


def fake_rate(pt: np.ndarray) -> np.ndarray:
    """Probability that a jet of this pT passes the tau identification: FAKE_RATE at 20 GeV,
    falling with pT as ATLAS's 2012 measurements do (harder jets are wider)."""
    return FAKE_RATE * np.exp(-(np.asarray(pt) - 20.0) / FAKE_RATE_SLOPE)


def _fake_tau(jets: ak.Array, rng) -> tuple[ak.Array, np.ndarray]:
    """One jet per event chosen to fake the tau, with probability proportional to its fake rate,
    and the event's weight factor: the probability that any candidate fakes it (sum of the rates).

    Choosing by fake rate, not the leading jet, matters: jet spectra fall steeply, so most fakes
    are soft jets and the harder recoiling jet stays a jet (real W + jets: 1-jet events are common).
    """
    candidates = jets[abs(jets.eta) < 2.5]
    # the tau candidate is the jet's core: calibrated at the tau energy scale, below the jet's
    candidates = ak.zip({k: candidates[k] * FAKE_TAU_RESPONSE for k in ("px", "py", "pz", "E")}, with_name="Momentum4D")
    candidates = candidates[candidates.pt > 20]
    rates = ak.unflatten(fake_rate(ak.to_numpy(ak.flatten(candidates.pt))), ak.num(candidates))
    total = ak.to_numpy(ak.sum(rates, axis=1))
    cumulative = ak.unflatten(np.cumsum(ak.to_numpy(ak.flatten(rates))), ak.num(rates))
    offset = np.concatenate([[0.0], np.cumsum(total)[:-1]])
    draw = offset + rng.random(len(total)) * total
    chosen = ak.argmax(cumulative >= ak.Array(draw - 1e-9), axis=1, keepdims=True)
    return ak.firsts(candidates[chosen]), np.minimum(total, 1.0)


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
    if allow_fake:  # where there is no real tau, one jet fakes it (the fake-factor method)
        jet_tau, rate = _fake_tau(jets, rng)
        fake = ~has_tau & ~ak.is_none(jet_tau)
        tau = ak.where(fake, jet_tau, tau)
        weight_factor = np.where(ak.to_numpy(fake), rate, 1.0)
        has_tau = has_tau | fake
    tau = ak.zip({"px": tau.px, "py": tau.py, "pz": tau.pz, "E": tau.E}, with_name="Momentum4D")
    # remove the jet on the tau, then keep the challenge's 30 GeV jets
    jets = jets[~ak.fill_none(jets.deltaR(tau) < 0.4, False)]
    jets = jets[jets.pt > 30]

    selected = ak.to_numpy((ak.num(leptons) == 1) & ak.fill_none(has_tau, False) & ak.fill_none(tau.pt > 20, False))
    lep = ak.firsts(leptons)[selected]
    tau, jets, nu = tau[selected], jets[selected], nu[selected]
    m = int(selected.sum())

    in_calorimeter = visible[abs(visible.eta) < 4.9]
    sumet_visible = ak.to_numpy(ak.sum(in_calorimeter.pt, axis=1))[selected]
    sumet = sumet_visible + ak.to_numpy(ak.sum(leptons.pt, axis=1))[selected] + rng.gamma(*UNDERLYING_EVENT_SUMET, m)
    resolution = MET_RESOLUTION * np.sqrt(sumet)
    met_x = ak.to_numpy(ak.sum(nu.px, axis=1)) + rng.normal(0, 1, m) * resolution
    met_y = ak.to_numpy(ak.sum(nu.py, axis=1)) + rng.normal(0, 1, m) * resolution
    cols = primitives(lep, tau, jets, met_x, met_y, sumet)
    cols.update(derived(cols))
    cols["DER_mass_MMC"] = mass_mmc_standin(cols, rng)
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


M_TAU = 1.777  # GeV
MMC_BIN, MMC_BINS = 0.04, 200  # log-mass bins of the MMC stand-in's mass distribution (up to e^8 GeV)
# prior on each tau's visible energy fraction, p(x) ~ x^(2/3): the pT thresholds select large visible
# fractions (a flat prior biases the mass up by about 6 %)
X_PRIOR_POWER = 2 / 3


def _missing_system(pt, eta, phi, x, psi, m_miss):
    """The invisible part of a tau decay whose visible part (massless, pt, eta, phi) carries the
    energy fraction ``x``, at azimuth ``psi`` around the visible direction: its opening angle to
    the visible part follows from the tau mass. Returns px, py, pz, E and where that is possible."""
    e_vis = pt * np.cosh(eta)
    e_miss = e_vis * (1 - x) / x
    p_miss = np.sqrt(np.maximum(e_miss ** 2 - m_miss ** 2, 0))
    with np.errstate(divide="ignore", invalid="ignore"):
        cos_open = (e_miss - (M_TAU ** 2 - m_miss ** 2) / (2 * e_vis)) / p_miss
    possible = (np.abs(cos_open) <= 1) & (e_miss > m_miss)
    cos_open = np.clip(cos_open, -1, 1)
    sin_open = np.sqrt(1 - cos_open ** 2)
    theta = 2 * np.arctan(np.exp(-eta))
    # the visible direction and two unit vectors perpendicular to it
    n = np.sin(theta) * np.cos(phi), np.sin(theta) * np.sin(phi), np.cos(theta)
    e1 = np.cos(theta) * np.cos(phi), np.cos(theta) * np.sin(phi), -np.sin(theta)
    e2 = -np.sin(phi), np.cos(phi), 0.0
    d = [cos_open * n[i] + sin_open * (np.cos(psi) * e1[i] + np.sin(psi) * e2[i]) for i in range(3)]
    return p_miss * d[0], p_miss * d[1], p_miss * d[2], e_miss, possible


def x_from_uniform(u: np.ndarray) -> np.ndarray:
    """Visible fractions x distributed as x^X_PRIOR_POWER on [0, 1], from uniform numbers."""
    return u ** (1 / (1 + X_PRIOR_POWER))


def mass_mmc_standin(c: dict, rng, n_points: int = 1024, chi2_max: float = 9.0, chunk: int = 1000) -> np.ndarray:
    """A stand-in for ATLAS's Missing Mass Calculator (Elagin et al., NIM A 654 (2011) 481), from
    the PRI_* columns: the tau-pair mass is scanned over the unknown neutrinos rather than taken
    from the collinear approximation.

    For each event, ``n_points`` random configurations of the two invisible systems (the visible
    energy fraction x of each tau, with a prior p(x) ~ x^(2/3); the azimuth of the neutrinos around the visible
    direction, uniform; the mass of the leptonic tau's two neutrinos, uniform up to m_tau), each
    fixed by the tau mass, are weighted by how well they reproduce the measured missing
    transverse momentum, exp(-chi2 / 2) with the resolution 0.5 sqrt(sum ET / GeV) GeV per
    component and chi2 < ``chi2_max``. The estimate is the most probable pair mass (as MMC's);
    -999 (undefined, as MMC can be) when no configuration reproduces the missing momentum.
    ATLAS's MMC also weights by the tau decays' angular distributions; this stand-in's resolution and undefined fraction are compared with the real ones on
    the Data page's realism table.
    """
    n = len(c["PRI_tau_pt"])
    out = np.full(n, MISSING)
    for start in range(0, n, chunk):
        part = slice(start, min(n, start + chunk))
        k = part.stop - part.start
        col = {name: np.asarray(c[name][part], dtype=np.float64)[:, None] for name in (
            "PRI_tau_pt", "PRI_tau_eta", "PRI_tau_phi", "PRI_lep_pt", "PRI_lep_eta", "PRI_lep_phi",
            "PRI_met", "PRI_met_phi", "PRI_met_sumet")}
        uniform = lambda: rng.random((k, n_points))  # noqa: E731
        x_tau, x_lep, psi_tau, psi_lep, m_lep = (0.02 + 0.98 * x_from_uniform(uniform()), 0.02 + 0.98 * x_from_uniform(uniform()),
                                                   2 * np.pi * uniform(), 2 * np.pi * uniform(), M_TAU * uniform())
        tau = (col["PRI_tau_pt"], col["PRI_tau_eta"], col["PRI_tau_phi"])
        lep = (col["PRI_lep_pt"], col["PRI_lep_eta"], col["PRI_lep_phi"])
        nu_tau = _missing_system(*tau, x_tau, psi_tau, 0.0)
        nu_lep = _missing_system(*lep, x_lep, psi_lep, m_lep)
        met_x = col["PRI_met"] * np.cos(col["PRI_met_phi"])
        met_y = col["PRI_met"] * np.sin(col["PRI_met_phi"])
        chi2 = ((met_x - nu_tau[0] - nu_lep[0]) ** 2 + (met_y - nu_tau[1] - nu_lep[1]) ** 2) / (MET_RESOLUTION ** 2 * col["PRI_met_sumet"])
        weight = np.where(nu_tau[4] & nu_lep[4] & (chi2 < chi2_max), np.exp(-0.5 * chi2), 0.0)
        visible = [np.cosh(tau[1]) * tau[0] + np.cosh(lep[1]) * lep[0],
                   tau[0] * np.cos(tau[2]) + lep[0] * np.cos(lep[2]),
                   tau[0] * np.sin(tau[2]) + lep[0] * np.sin(lep[2]),
                   tau[0] * np.sinh(tau[1]) + lep[0] * np.sinh(lep[1])]
        e = visible[0] + nu_tau[3] + nu_lep[3]
        p = [visible[i + 1] + nu_tau[i] + nu_lep[i] for i in range(3)]
        mass = np.sqrt(np.maximum(e ** 2 - p[0] ** 2 - p[1] ** 2 - p[2] ** 2, 0))
        # the most probable mass: the fullest bin of the weighted mass distribution (bins of 4 % in mass)
        bins = np.clip(np.floor(np.log(np.maximum(mass, 1.0)) / MMC_BIN), 0, MMC_BINS - 1).astype(np.int64)
        histogram = np.bincount((np.arange(k)[:, None] * MMC_BINS + bins).ravel(), weight.ravel(),
                                minlength=k * MMC_BINS).reshape(k, MMC_BINS)
        peak = np.argmax(histogram, axis=1)
        out[part] = np.where(histogram.sum(axis=1) > 0, np.exp((peak + 0.5) * MMC_BIN), MISSING)
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
    version=3,
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
