"""Simulated stand-in for the CMS "HEP tutorial" ntuples (CERN Open Data record 212; 2011 data).

**Processes.** Pythia 8 (pythia8mc), proton-proton collisions at sqrt(s) = 7 TeV (the real data are
of 2011, Run2011A; the records state no energy, and the 2011 run was at 7 TeV), one file
per process with the real file names: `ttbar` (signal; `Top:gg2ttbar`, `Top:qqbar2ttbar`),
`wjets` (W + jet, W -> mu nu, pTHat > 40 GeV), `dy` (gamma*/Z + jet, Z -> mu mu, m > 40 GeV,
pTHat > 20 GeV), `single_top` (t- and s-channel, `Top:qq2tq(t:W)`, `Top:ffbar2tqbar(s:W)`), `ww`, `wz`, `zz` (`WeakDoubleBoson`), and
`qcd` (`HardQCD:all`, pTHat > 30 GeV). In top and single-top events the W decays to quarks,
electrons or muons only. Cross-sections are Pythia's leading-order ones (no K-factors).

To keep generation at about a thousand events per second, multiparton interactions and
hadronisation are off: jets are clustered from the showered partons ("parton-level jets"),
which reproduces jet multiplicities and kinematics but not hadron-level details. W + 1
parton plus the shower rarely gives four jets, so this sample *understates* the W + jets
background at high jet multiplicity compared with the real tutorial files.

**Detector response** (simple and documented, not CMS's simulation):
- muons: |eta| < 2.4, pT > 10 GeV, efficiency 95 %, pT resolution 1 % + 0.01 % x pT/GeV;
  electrons: |eta| < 2.5, pT > 10 GeV, efficiency 85 %, resolution 2 %; photons: |eta| < 2.5,
  pT > 5 GeV, efficiency 80 %, resolution 3 %. `*_Iso` is the absolute isolation: the
  scalar pT sum (GeV) of the other visible particles within Delta R < 0.3.
- jets: anti-kT R = 0.5 (fastjet) on all visible particles but muons and electrons; energy
  resolution sigma/E = 100 %/sqrt(E/GeV) (+) 5 %; kept with pT > 30 GeV, |eta| < 2.4;
  `Jet_ID` true with 98 % probability.
- b-tagging: a jet within Delta R < 0.4 of a b (c) quark is a b (c) jet; the discriminator
  `Jet_btag` exceeds 1.74 with probability 60 % for b, 15 % for c and 1.5 % for light jets
  (then 1.74 + exponential of mean 1.2); otherwise it is -1 (no secondary vertex, 90 %)
  or uniform in [0, 1.74).
- missing transverse momentum: the neutrinos' vector sum plus a Gaussian of 8 GeV per
  component; `NPrimaryVertices` is 1 + Poisson(7.5).
- QCD multijets: a non-prompt muon is emulated in every event by splitting off a fraction
  z ~ U(0.3, 0.9) of a random jet's momentum, with isolation (1 - z) pT_jet x u^3, u ~ U(0, 1);
  the QCD weight includes a probability 3e-6 for such a muon, chosen so that QCD is a
  small background after the isolated-muon selection, as in the real tutorial.
- trigger `triggerIsoMu24`: a muon with pT > 24 GeV, |eta| < 2.1 and Iso/pT < 0.15, with
  92 % efficiency. Like the tutorial files, every file is skimmed on this trigger.

**Weights and pseudo-data.** `EventWeight` = sigma x L / N_generated with L = 20 pb^-1 for
simulation. `data.root` is **simulated pseudo-data**: for every process an independent
Pythia run (different seed) of Poisson(sigma x L) events, passed through the same response
and trigger, with `EventWeight` = 1 — realistic proportions, but not real collisions.

**Format.** TTree `events` with the real files' 52 branches, names and types (jagged
`Jet_*`, `Muon_*`, `Electron_*`, `Photon_*` with int32 counters `NJet`, `NMuon`, ...,
`MET_px/py`, the `MC*` truth of semileptonic ttbar, `NPrimaryVertices`, `triggerIsoMu24`,
`EventWeight`). The truth branches are zero outside semileptonic ttbar, as in the real files.
"""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import numpy as np
import uproot
import vector
from tqdm import tqdm

from . import SampleRecipe
from ._common import calorimeter_jets, keep_with_efficiency, make_pythia, smear

LUMINOSITY_PB = 20.0
QCD_FAKE_MUON_PROBABILITY = 3e-6
PROCESS_FILES = ["ttbar", "wjets", "dy", "single_top", "ww", "wz", "zz", "qcd"]
FILENAMES = [f"{p}.root" for p in ["data"] + PROCESS_FILES]

_W_TO_QUARKS_E_MU = ["24:onMode = off", "24:onIfAny = 1 2 3 4 5 11 13"]
PROCESSES = {  # name: (Pythia settings, share of the simulated events)
    "ttbar": (["Top:gg2ttbar = on", "Top:qqbar2ttbar = on"] + _W_TO_QUARKS_E_MU, 0.35),
    "wjets": (["WeakBosonAndParton:qqbar2Wg = on", "WeakBosonAndParton:qg2Wq = on",
               "PhaseSpace:pTHatMin = 40", "24:onMode = off", "24:onIfAny = 13"], 0.25),
    "dy": (["WeakBosonAndParton:qqbar2gmZg = on", "WeakBosonAndParton:qg2gmZq = on",
            "PhaseSpace:pTHatMin = 20", "23:mMin = 40", "23:onMode = off", "23:onIfAny = 13"], 0.12),
    "single_top": (["Top:qq2tq(t:W) = on", "Top:ffbar2tqbar(s:W) = on"] + _W_TO_QUARKS_E_MU, 0.07),
    "ww": (["WeakDoubleBoson:ffbar2WW = on"], 0.03),
    "wz": (["WeakDoubleBoson:ffbar2ZW = on"], 0.03),
    "zz": (["WeakDoubleBoson:ffbar2gmZgmZ = on", "23:mMin = 40"], 0.03),
    "qcd": (["HardQCD:all = on", "PhaseSpace:pTHatMin = 30"], 0.12),
}
_COMMON = ["Beams:eCM = 7000", "PartonLevel:MPI = off", "HadronLevel:Hadronize = off", "Print:quiet = on"]
_TRUTH = ["MChadronicBottom", "MCleptonicBottom", "MChadronicWDecayQuark", "MChadronicWDecayQuarkBar",
          "MClepton", "MCneutrino"]


def _ttbar_truth(process) -> dict[str, tuple]:
    """Semileptonic ttbar truth from Pythia's hard-process record (zeros otherwise)."""
    out = {}
    wdecays, bottoms = {}, {}
    for i in range(process.size()):
        p = process[i]
        if abs(p.id()) == 6:
            for d in (p.daughter1(), p.daughter2()):
                if d > 0 and abs(process[d].id()) == 5:
                    bottoms[np.sign(p.id())] = process[d]
                if d > 0 and abs(process[d].id()) == 24:
                    w = process[d]
                    wdecays[np.sign(p.id())] = [process[k] for k in (w.daughter1(), w.daughter2()) if k > 0]
    if len(wdecays) != 2 or len(bottoms) != 2:
        return out
    leptonic = [s for s, ds in wdecays.items() if any(abs(d.id()) in (11, 13) for d in ds)]
    if len(leptonic) != 1:
        return out
    lep_sign = leptonic[0]
    had_sign = -lep_sign
    lepton = next(d for d in wdecays[lep_sign] if abs(d.id()) in (11, 13))
    neutrino = next(d for d in wdecays[lep_sign] if abs(d.id()) in (12, 14))
    quarks = sorted(wdecays[had_sign], key=lambda d: -d.id())  # quark first, antiquark second
    for name, p in zip(_TRUTH, [bottoms[had_sign], bottoms[lep_sign], quarks[0], quarks[1], lepton, neutrino]):
        out[name] = (p.px(), p.py(), p.pz())
    out["MCleptonPDGid"] = lepton.id()
    return out


def _generate_events(settings, n_events, seed, progress):
    """Final-state particles (jagged px, py, pz, E, id) and ttbar truth for n_events."""
    pythia = make_pythia(_COMMON + settings, seed)
    particles, truth = [], []
    while len(particles) < n_events:
        if not pythia.next():
            continue
        particles.append([(p.px(), p.py(), p.pz(), p.e(), p.id()) for p in pythia.event if p.isFinal()])
        truth.append(_ttbar_truth(pythia.process))
        progress.update()
    sigma_pb = pythia.infoPython().sigmaGen() * 1e9  # mb -> pb
    counts = [len(e) for e in particles]
    flat = np.array([p for e in particles for p in e], dtype=np.float64).reshape(-1, 5)
    parts = ak.unflatten(ak.zip({"px": flat[:, 0], "py": flat[:, 1], "pz": flat[:, 2], "E": flat[:, 3],
                                 "id": flat[:, 4].astype(np.int64)}, with_name="Momentum4D"), counts)
    return parts, truth, sigma_pb


def _abs_id_in(parts, ids):
    """Jagged mask: |id| is one of ids (np.isin does not accept jagged arrays)."""
    mask = abs(parts.id) == ids[0]
    for i in ids[1:]:
        mask = mask | (abs(parts.id) == i)
    return mask


def _isolation(objects, visible, cone=0.3):
    """Scalar pT sum of the visible particles within the cone, minus the object itself."""
    pairs = ak.cartesian([objects, visible], nested=True)
    obj, other = ak.unzip(pairs)
    dr = obj.deltaR(other)
    inside = (dr < cone) & (dr > 1e-6)
    return ak.sum(ak.where(inside, other.pt, 0.0), axis=-1)


def _leptons(parts, pid, eta_max, pt_min, eff, resolution, visible, rng):
    objs = parts[abs(parts.id) == pid]
    objs = objs[(abs(objs.eta) < eta_max) & (objs.pt > pt_min)]
    objs = keep_with_efficiency(objs, eff, rng)
    iso = _isolation(objs, visible)
    charge = -np.sign(objs.id) if pid != 22 else None
    objs = smear(objs, resolution, rng)
    order = ak.argsort(objs.pt, ascending=False)
    return objs[order], iso[order], (charge[order] if charge is not None else None)


def _jets(parts, rng):
    jets = calorimeter_jets(parts[~_abs_id_in(parts, [11, 12, 13, 14, 16])], 0.5, rng)
    jets = jets[(jets.pt > 30) & (abs(jets.eta) < 2.4)]
    jets = jets[ak.argsort(jets.pt, ascending=False)]

    def near(flavour):
        q = parts[abs(parts.id) == flavour]
        return ak.any(jets.deltaR(q[:, None, :]) < 0.4, axis=-1)

    n = ak.num(jets)
    isb, isc = ak.to_numpy(ak.flatten(near(5))), ak.to_numpy(ak.flatten(near(4)))
    p_tag = np.where(isb, 0.60, np.where(isc, 0.15, 0.015))
    tagged = rng.random(len(p_tag)) < p_tag
    no_sv = rng.random(len(p_tag)) < 0.90
    btag = np.where(tagged, 1.74 + rng.exponential(1.2, len(p_tag)),
                    np.where(no_sv, -1.0, rng.uniform(0, 1.74, len(p_tag))))
    jet_id = rng.random(len(p_tag)) < 0.98
    return jets, ak.unflatten(btag, n), ak.unflatten(jet_id, n)


def _fake_muon(jets, rng):
    """QCD: split a non-prompt muon off a random jet (events without a jet get none)."""
    n = len(jets)
    has = ak.to_numpy(ak.num(jets) > 0)
    pick = np.floor(rng.random(n) * np.maximum(ak.to_numpy(ak.num(jets)), 1)).astype(np.int64)
    jet = jets[ak.local_index(jets) == pick[:, None]]
    z = rng.uniform(0.3, 0.9, n)
    zz = ak.unflatten(z[has], ak.to_numpy(ak.num(jet)))
    mu = ak.zip({"px": jet.px * zz, "py": jet.py * zz, "pz": jet.pz * zz, "E": jet.E * zz}, with_name="Momentum4D")
    iso = (1 - zz) * jet.pt * ak.unflatten(rng.uniform(0, 1, int(has.sum())) ** 3, ak.to_numpy(ak.num(jet)))
    charge = ak.unflatten(rng.choice([-1, 1], int(has.sum())), ak.to_numpy(ak.num(jet)))
    return mu, iso, charge


def _reconstruct(parts, truth, weight, rng, qcd=False) -> dict:
    visible = parts[~_abs_id_in(parts, [12, 14, 16])]
    muons, mu_iso, mu_q = _leptons(parts, 13, 2.4, 10, 0.95, lambda m: 0.01 + 1e-4 * ak.to_numpy(m.pt), visible, rng)
    jets, btag, jet_id = _jets(parts, rng)
    if qcd:
        fake, fake_iso, fake_q = _fake_muon(jets, rng)
        muons, mu_iso, mu_q = (ak.concatenate([a, b], axis=1) for a, b in
                               [(muons, fake), (mu_iso, fake_iso), (mu_q, fake_q)])
    electrons, el_iso, el_q = _leptons(parts, 11, 2.5, 10, 0.85, 0.02, visible, rng)
    photons, ph_iso, _ = _leptons(parts, 22, 2.5, 5, 0.80, 0.03, visible, rng)
    nu = parts[_abs_id_in(parts, [12, 14, 16])]
    met_x = ak.to_numpy(ak.sum(nu.px, axis=1)) + rng.normal(0, 8, len(parts))
    met_y = ak.to_numpy(ak.sum(nu.py, axis=1)) + rng.normal(0, 8, len(parts))

    trig_mu = (muons.pt > 24) & (abs(muons.eta) < 2.1) & (mu_iso / muons.pt < 0.15)
    trigger = ak.to_numpy(ak.any(trig_mu, axis=1)) & (rng.random(len(parts)) < 0.92)

    out = {}
    for prefix, objs in [("Jet", jets), ("Muon", muons), ("Electron", electrons), ("Photon", photons)]:
        for comp in ("px", "py", "pz", "E"):
            out[f"{prefix}_{comp.capitalize()}"] = ak.values_astype(objs[comp], np.float32)
    out["Jet_btag"] = ak.values_astype(btag, np.float32)
    out["Jet_ID"] = jet_id
    out["Muon_Charge"] = ak.values_astype(mu_q, np.int32)
    out["Muon_Iso"] = ak.values_astype(mu_iso, np.float32)
    out["Electron_Charge"] = ak.values_astype(el_q, np.int32)
    out["Electron_Iso"] = ak.values_astype(el_iso, np.float32)
    out["Photon_Iso"] = ak.values_astype(ph_iso, np.float32)
    out["MET_px"] = met_x.astype(np.float32)
    out["MET_py"] = met_y.astype(np.float32)
    for name in _TRUTH:
        for k, comp in enumerate(("px", "py", "pz")):
            out[f"{name}_{comp}"] = np.array([t.get(name, (0, 0, 0))[k] for t in truth], dtype=np.float32)
    out["MCleptonPDGid"] = np.array([t.get("MCleptonPDGid", 0) for t in truth], dtype=np.int32)
    out["NPrimaryVertices"] = (1 + rng.poisson(7.5, len(parts))).astype(np.int32)
    out["triggerIsoMu24"] = trigger
    out["EventWeight"] = np.full(len(parts), weight, dtype=np.float32)
    return {k: v[trigger] for k, v in out.items()}


# branch order of the real files
BRANCH_ORDER = (
    ["Jet_Px", "Jet_Py", "Jet_Pz", "Jet_E", "Jet_btag", "Jet_ID",
     "Muon_Px", "Muon_Py", "Muon_Pz", "Muon_E", "Muon_Charge", "Muon_Iso",
     "Electron_Px", "Electron_Py", "Electron_Pz", "Electron_E", "Electron_Charge", "Electron_Iso",
     "Photon_Px", "Photon_Py", "Photon_Pz", "Photon_E", "Photon_Iso", "MET_px", "MET_py"]
    + [f"{n}_{c}" for n in _TRUTH[:4] for c in ("px", "py", "pz")]
    + [f"MClepton_{c}" for c in ("px", "py", "pz")] + ["MCleptonPDGid"]
    + [f"MCneutrino_{c}" for c in ("px", "py", "pz")] + ["NPrimaryVertices", "triggerIsoMu24", "EventWeight"]
)


def _write(path: Path, columns: dict) -> None:
    with uproot.recreate(path) as f:
        types = {}
        for name in BRANCH_ORDER:
            v = columns[name]
            types[name] = v.type.content if isinstance(v, ak.Array) else v.dtype
        f.mktree("events", types, counter_name=lambda branch: "N" + branch.split("_")[0])
        f["events"].extend({name: columns[name] for name in BRANCH_ORDER})


def _concat(parts: list[dict]) -> dict:
    out = {}
    for k in parts[0]:
        vals = [p[k] for p in parts]
        out[k] = ak.concatenate(vals) if isinstance(vals[0], ak.Array) else np.concatenate(vals)
    return out


def generate(directory: Path, n_events: int, seed: int, luminosity_pb: float = LUMINOSITY_PB) -> None:
    vector.register_awkward()
    rng = np.random.default_rng(seed)
    sizes = {p: max(50, int(round(share * n_events))) for p, (_, share) in PROCESSES.items()}
    data_parts = []
    with tqdm(total=sum(sizes.values()), desc="Pythia 8 simulation", unit="ev") as progress:
        sigmas = {}
        for k, (name, (settings, _)) in enumerate(PROCESSES.items()):
            parts, truth, sigma = _generate_events(settings, sizes[name], seed + 100 * k, progress)
            sigmas[name] = sigma * (QCD_FAKE_MUON_PROBABILITY if name == "qcd" else 1.0)
            weight = sigmas[name] * luminosity_pb / sizes[name]
            _write(directory / f"{name}.root", _reconstruct(parts, truth, weight, rng, qcd=name == "qcd"))
    expected = {name: rng.poisson(sigmas[name] * luminosity_pb) for name in PROCESSES}
    with tqdm(total=int(sum(expected.values())), desc="Pythia 8 pseudo-data", unit="ev") as progress:
        for k, (name, (settings, _)) in enumerate(PROCESSES.items()):
            if expected[name] == 0:
                continue
            parts, truth, _ = _generate_events(settings, int(expected[name]), seed + 100 * k + 50, progress)
            data_parts.append(_reconstruct(parts, truth, 1.0, rng, qcd=name == "qcd"))
    data = _concat(data_parts)
    order = rng.permutation(len(data["EventWeight"]))
    _write(directory / "data.root", {k: v[order] for k, v in data.items()})


RECIPE = SampleRecipe(
    dataset="cms-hep-tutorial-2012",
    version=2,  # v2: 7 TeV, as the 2011 data (was 8 TeV)
    seed=212,
    n_events=16_000,
    summary="Pythia 8 ttbar, W+jets, Drell-Yan, single top, dibosons and QCD at 7 TeV with a parametrised CMS-like response, plus simulated pseudo-data",
    doc=__doc__,
    generate=generate,
)
