"""Simulated stand-in for the CMS "HEP tutorial" ntuples (CERN Open Data record 212; 2011 data).

**Processes.** Pythia 8 (pythia8mc), proton-proton collisions at sqrt(s) = 7 TeV (the real data are
of 2011, Run2011A; the records state no energy, and the 2011 run was at 7 TeV), one file
per process with the real file names: `ttbar` (signal; `Top:gg2ttbar`, `Top:qqbar2ttbar`),
`wjets` (W + jet, W -> mu nu, pTHat > 40 GeV, with a power shower: initial-state radiation up to
the kinematic limit), `dy` (gamma*/Z + jet, Z -> mu mu, m > 40 GeV, pTHat > 20 GeV), `single_top`
(t- and s-channel, `Top:qq2tq(t:W)`, `Top:ffbar2tqbar(s:W)`; tW is not generated), `ww`, `wz`, `zz`
(`WeakDoubleBoson`), and `qcd` (`HardQCD:all`, pTHat > 30 GeV). In top and single-top events the W
decays to quarks, electrons or muons only. Cross-sections are Pythia's leading-order ones times
K-factors to the NLO (NNLO for W and Z) cross-sections CMS normalised its 2011 simulation to
(`K_FACTORS`).

To keep generation fast, multiparton interactions and hadronisation are off: jets are clustered
from the showered partons ("parton-level jets"), and pile-up and the underlying event enter as
parametrised terms (isolation, missing momentum). Only events with a muon that may fire the
trigger (pT > 23 GeV, |eta| < 2.1) are reconstructed; the others count in the weights. W + jets
events with fewer than three hard partons (pT > 20 GeV, |eta| < 2.7) are kept one in 8, with 8
times the weight, so that the sample holds W + 4-jet events (the filter's efficiency stays in
the weights, as in the real tutorial's simulation, whose weights also vary from event to event).

**Detector response** (simple and documented, not CMS's simulation):
- muons: |eta| < 2.4, pT > 10 GeV, efficiency 95 %, pT resolution 1 % + 0.01 % x pT/GeV;
  electrons: |eta| < 2.5, pT > 10 GeV, efficiency 85 %, resolution 2 %; photons: |eta| < 2.5,
  pT > 5 GeV, efficiency 80 %, resolution 3 %. `*_Iso` is the absolute isolation: the
  scalar pT sum (GeV) of the other visible particles within Delta R < 0.3, plus pile-up and
  underlying event (0 in 22 % of cases, else a gamma distribution of mean 1.5 GeV, from the
  real files' prompt muons).
- jets: anti-kT R = 0.5 (fastjet) on all visible particles but muons and electrons; energy
  resolution sigma/E = 100 %/sqrt(E/GeV) (+) 5 %; kept with pT > 30 GeV, |eta| < 2.4;
  `Jet_ID` true with 98 % probability.
- b-tagging: a jet within Delta R < 0.4 of a b (c) quark is a b (c) jet; the discriminator
  `Jet_btag` exceeds 1.74 with probability 60 % for b, 15 % for c and 1.5 % for light jets
  (then 1.74 + exponential of mean 1.2); otherwise it is -1 (no secondary vertex, 90 %)
  or uniform in [0, 1.74).
- missing transverse momentum: the neutrinos' vector sum plus a Gaussian of 14 GeV per
  component; `NPrimaryVertices` is 1 + Poisson(7.5).
- QCD multijets: only events with a b or c quark above 15 GeV are kept (the filter's efficiency
  in the weight); in each, one heavy-flavour jet decays semileptonically (weight times the
  branching ratio, 21 % for b, 10 % for c): the muon takes z ~ U(0.3, 0.9) of the jet's momentum,
  the neutrino (in the missing momentum) a share U(0.2, 0.6) of the rest, and the jet keeps what
  remains; the muon's isolation is that remainder times u^3, u ~ U(0, 1), plus pile-up. The
  weight also carries a probability 2e-5 for such a muon to look isolated, set so that QCD is
  about 1 % of the events after the isolated-muon selection.
- trigger `triggerIsoMu24`: a muon with pT > 24 GeV, |eta| < 2.1 and Iso/pT < 0.15, with
  92 % efficiency. Like the tutorial files, every file is skimmed on this trigger.

**Weights and pseudo-data.** `EventWeight` = sigma x K x L / N_generated (times the prescale and
branching-ratio factors above) with L = 50 pb^-1, the tutorial's 2011 data. `data.root` is
**simulated pseudo-data**: for every process an independent Pythia run (different seed) of
Poisson(sigma x K x L) events, passed through the same response and trigger, with
`EventWeight` = 1 — realistic proportions, but not real collisions. The Data page's realism
table compares yields, jet multiplicities, missing momentum and isolation with the real files.

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

from .. import SampleRecipe
from .._common import calorimeter_jets, keep_with_efficiency, make_pythia, smear

LUMINOSITY_PB = 50.0  # the tutorial's 2011 data (Run2011A), about 50 pb^-1
# QCD: probability that a heavy-flavour jet's semileptonic muon is isolated enough to be
# reconstructed as an isolated muon (the rare hard fragmentation and decay the sample does not
# simulate); chosen so that QCD is a small background after the isolated-muon selection, as in
# the real tutorial files
QCD_ISOLATED_MUON_PROBABILITY = 2e-5
SEMILEPTONIC_BR = {5: 0.21, 4: 0.10}  # b -> mu (direct and via c), c -> mu
# NLO (NNLO for W, Z) cross-sections at 7 TeV as CMS normalised its 2011 simulation, over
# Pythia 8's leading-order ones for the same processes (measured with this setup, inclusive):
# ttbar 165 / 110 pb, W -> mu nu 10.4 / 7.71 nb, Z/gamma* -> mu mu (m > 50 GeV) 1.02 / 0.746 nb,
# single top t + s channel 69.2 / 49.0 pb (tW is not generated), WW 43 / 27.7 pb, WZ 18.2 / 10.0 pb,
# ZZ 5.9 / 3.9 pb; QCD multijets stay at leading order
K_FACTORS = {"ttbar": 1.50, "wjets": 1.35, "dy": 1.36, "single_top": 1.41, "ww": 1.55, "wz": 1.82, "zz": 1.52,
             "qcd": 1.0}
# W + jets: events with fewer than three hard partons (the ones that cannot reach four jets)
# are kept one in W_PRESCALE, with their weight multiplied by W_PRESCALE, so that the sample
# holds W + 4-jet events at all; the filter's efficiency stays in the weights
W_PRESCALE = 8
MET_RESOLUTION = 14.0  # GeV per component: 2011 conditions (about 8 pile-up vertices), jets included
PROCESS_FILES = ["ttbar", "wjets", "dy", "single_top", "ww", "wz", "zz", "qcd"]
FILENAMES = [f"{p}.root" for p in ["data"] + PROCESS_FILES]

_W_TO_QUARKS_E_MU = ["24:onMode = off", "24:onIfAny = 1 2 3 4 5 11 13"]
PROCESSES = {  # name: (Pythia settings, share of the simulated events)
    "ttbar": (["Top:gg2ttbar = on", "Top:qqbar2ttbar = on"] + _W_TO_QUARKS_E_MU, 0.35),
    # ISR allowed up to the kinematic limit ("power shower"): with W + 1 parton as the hard process,
    # Pythia's default stops at its pT and gives far too few W + 3- and 4-jet events
    "wjets": (["WeakBosonAndParton:qqbar2Wg = on", "WeakBosonAndParton:qg2Wq = on",
               "PhaseSpace:pTHatMin = 40", "24:onMode = off", "24:onIfAny = 13",
               "SpaceShower:pTmaxMatch = 2"], 0.25),
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


def _hard_partons(event, pt_min=20.0, eta_max=2.7) -> int:
    """Final quarks and gluons that could make a jet in the acceptance (parton level)."""
    return sum(1 for p in event if p.isFinal() and (p.idAbs() <= 5 or p.id() == 21)
               and p.pT() > pt_min and abs(p.eta()) < eta_max)


def _has_heavy_flavour(event, pt_min=15.0) -> bool:
    return any(p.isFinal() and p.idAbs() in (4, 5) and p.pT() > pt_min for p in event)


def _may_trigger(event) -> bool:
    """A final muon that could fire IsoMu24 after the momentum resolution (pT > 23 GeV, |eta| < 2.1):
    the other events cannot pass the trigger skim, so they are counted but not reconstructed."""
    return any(p.isFinal() and p.idAbs() == 13 and p.pT() > 23 and abs(p.eta()) < 2.1 for p in event)


def _generate_events(settings, n_events, seed, progress, prescale=1, heavy_flavour=False):
    """Final-state particles (jagged px, py, pz, E, id), ttbar truth, each event's weight factor
    and the number of events generated, for n_events stored events.

    With ``prescale`` > 1, events with fewer than three hard partons are stored one in
    ``prescale`` with a weight factor ``prescale`` (others with 1): an unbiased sample that holds
    more of the rare high-multiplicity events. With ``heavy_flavour``, only events with a b or c
    quark above 15 GeV are stored (the others cannot give a non-prompt muon), otherwise only events
    that may fire the trigger; the generated count keeps the filters' efficiency in the weights,
    and the share of generated events passing them is returned (pseudo-data need it)."""
    pythia = make_pythia(_COMMON + settings, seed)
    keep = np.random.default_rng(seed)
    particles, truth, factors, generated, passing = [], [], [], 0, 0
    while len(particles) < n_events:
        if not pythia.next():
            continue
        generated += 1
        factor = 1.0
        if not (_has_heavy_flavour(pythia.event) if heavy_flavour else _may_trigger(pythia.event)):
            continue
        passing += 1
        if prescale > 1 and _hard_partons(pythia.event) < 3:
            if keep.random() >= 1 / prescale:
                continue
            factor = float(prescale)
        particles.append([(p.px(), p.py(), p.pz(), p.e(), p.id()) for p in pythia.event if p.isFinal()])
        truth.append(_ttbar_truth(pythia.process))
        factors.append(factor)
        progress.update()
    sigma_pb = pythia.infoPython().sigmaGen() * 1e9  # mb -> pb
    counts = [len(e) for e in particles]
    flat = np.array([p for e in particles for p in e], dtype=np.float64).reshape(-1, 5)
    parts = ak.unflatten(ak.zip({"px": flat[:, 0], "py": flat[:, 1], "pz": flat[:, 2], "E": flat[:, 3],
                                 "id": flat[:, 4].astype(np.int64)}, with_name="Momentum4D"), counts)
    return parts, truth, sigma_pb, np.array(factors), generated, passing / generated


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


def _pileup_isolation(counts, rng):
    """The isolation that pile-up and the underlying event (both absent at parton level) add to
    each lepton: 0 in 22 % of cases, else a gamma distribution of shape 2 and scale 0.75 GeV
    (the real tutorial files' prompt muons: median 1.1 GeV, 90th percentile 3.5 GeV)."""
    counts = ak.to_numpy(counts)
    n = int(counts.sum())
    extra = np.where(rng.random(n) < 0.22, 0.0, rng.gamma(2.0, 0.75, n))
    return ak.unflatten(extra, counts)


def _leptons(parts, pid, eta_max, pt_min, eff, resolution, visible, rng):
    objs = parts[abs(parts.id) == pid]
    objs = objs[(abs(objs.eta) < eta_max) & (objs.pt > pt_min)]
    objs = keep_with_efficiency(objs, eff, rng)
    iso = _isolation(objs, visible) + _pileup_isolation(ak.num(objs), rng)
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
    flavour = np.where(isb, 5, np.where(isc, 4, 0))
    return jets, ak.unflatten(btag, n), ak.unflatten(jet_id, n), ak.unflatten(flavour, n)


def _heavy_flavour_muon(jets, flavour, rng):
    """QCD: the muon of a semileptonic b or c decay in one heavy-flavour jet per event (chosen at
    random; events without one get none), with its neutrino. Of the jet's momentum the muon takes
    z ~ U(0.3, 0.9) and the neutrino a share U(0.2, 0.6) of the rest; the jet keeps what remains
    (so nothing is counted twice). The muon's isolation is the jet's remainder times u^3, u ~ U(0, 1),
    the hard fragmentations that let such a muon look isolated. Returns the muon, its isolation and
    charge (one-element lists), the neutrino's px and py, the jets (the chosen one reduced) and each
    event's weight factor: the semileptonic branching ratio (0 without a heavy-flavour jet)."""
    n = len(jets)
    counts = ak.to_numpy(ak.num(jets))
    is_hf = flavour > 0
    n_hf = ak.to_numpy(ak.sum(is_hf, axis=1))
    has = n_hf > 0
    # the k-th heavy-flavour jet of each event, k uniform
    k = np.floor(rng.random(n) * np.maximum(n_hf, 1)).astype(np.int64)
    rank = ak.unflatten(np.cumsum(ak.to_numpy(ak.flatten(is_hf)).astype(np.int64)) - 1
                        - np.repeat(np.concatenate([[0], np.cumsum(n_hf)[:-1]]), counts), counts)
    chosen = is_hf & (rank == k[:, None]) & has[:, None]
    z_mu = rng.uniform(0.3, 0.9, n)
    z_nu = (1 - z_mu) * rng.uniform(0.2, 0.6, n)
    jet = jets[chosen]
    per_jet = lambda x: ak.unflatten(x[has], ak.to_numpy(ak.num(jet)))  # noqa: E731
    scale = lambda objects, z: ak.zip({c: objects[c] * z for c in ("px", "py", "pz", "E")}, with_name="Momentum4D")  # noqa: E731
    mu = scale(jet, per_jet(z_mu))
    iso = (1 - per_jet(z_mu) - per_jet(z_nu)) * jet.pt * per_jet(rng.uniform(0, 1, n) ** 3)
    charge = ak.unflatten(rng.choice([-1, 1], int(has.sum())), ak.to_numpy(ak.num(jet)))
    nu_px = ak.to_numpy(ak.fill_none(ak.firsts(jet.px), 0.0)) * z_nu * has
    nu_py = ak.to_numpy(ak.fill_none(ak.firsts(jet.py), 0.0)) * z_nu * has
    remain = ak.where(chosen, ak.unflatten(np.repeat(1 - z_mu - z_nu, counts), counts), 1.0)
    jets = scale(jets, remain)
    chosen_flavour = ak.to_numpy(ak.fill_none(ak.firsts(flavour[chosen]), 0))
    factor = np.array([SEMILEPTONIC_BR.get(int(f), 0.0) for f in chosen_flavour])
    return mu, iso, charge, nu_px, nu_py, jets, factor


def _reconstruct(parts, truth, weight, rng, qcd=False) -> dict:
    visible = parts[~_abs_id_in(parts, [12, 14, 16])]
    muons, mu_iso, mu_q = _leptons(parts, 13, 2.4, 10, 0.95, lambda m: 0.01 + 1e-4 * ak.to_numpy(m.pt), visible, rng)
    jets, btag, jet_id, flavour = _jets(parts, rng)
    nu = parts[_abs_id_in(parts, [12, 14, 16])]
    met_x = ak.to_numpy(ak.sum(nu.px, axis=1)) + rng.normal(0, MET_RESOLUTION, len(parts))
    met_y = ak.to_numpy(ak.sum(nu.py, axis=1)) + rng.normal(0, MET_RESOLUTION, len(parts))
    weight = np.broadcast_to(np.asarray(weight, dtype=np.float64), (len(parts),)).copy()
    if qcd:
        fake, fake_iso, fake_q, nu_px, nu_py, jets, factor = _heavy_flavour_muon(jets, flavour, rng)
        fake_iso = fake_iso + _pileup_isolation(ak.num(fake), rng)
        muons, mu_iso, mu_q = (ak.concatenate([a, b], axis=1) for a, b in
                               [(muons, fake), (mu_iso, fake_iso), (mu_q, fake_q)])
        met_x, met_y = met_x + nu_px, met_y + nu_py
        weight = weight * factor
        keep_jets = (jets.pt > 30) & (abs(jets.eta) < 2.4)  # the reduced jet may fall below threshold
        jets, btag, jet_id = jets[keep_jets], btag[keep_jets], jet_id[keep_jets]
        order = ak.argsort(jets.pt, ascending=False)
        jets, btag, jet_id = jets[order], btag[order], jet_id[order]
    electrons, el_iso, el_q = _leptons(parts, 11, 2.5, 10, 0.85, 0.02, visible, rng)
    photons, ph_iso, _ = _leptons(parts, 22, 2.5, 5, 0.80, 0.03, visible, rng)

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
    out["EventWeight"] = weight.astype(np.float32)
    passed = trigger & (weight > 0)  # QCD events without a heavy-flavour muon carry no weight
    return {k: v[passed] for k, v in out.items()}


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
        sigmas, stored_share = {}, {}
        for k, (name, (settings, _)) in enumerate(PROCESSES.items()):
            parts, truth, sigma, factors, generated, stored_share[name] = _generate_events(
                settings, sizes[name], seed + 100 * k, progress, prescale=W_PRESCALE if name == "wjets" else 1,
                heavy_flavour=name == "qcd")
            sigmas[name] = sigma * K_FACTORS[name] * (QCD_ISOLATED_MUON_PROBABILITY if name == "qcd" else 1.0)
            weight = sigmas[name] * luminosity_pb / generated * factors
            _write(directory / f"{name}.root", _reconstruct(parts, truth, weight, rng, qcd=name == "qcd"))
    # pseudo-data: Poisson(sigma x L) events per process, of which only those passing the generation
    # filter are made (for QCD, those with a heavy-flavour quark, each then kept with the probability
    # that its muon exists, the semileptonic branching ratio)
    expected = {name: rng.poisson(sigmas[name] * luminosity_pb * stored_share[name]) for name in PROCESSES}
    with tqdm(total=int(sum(expected.values())), desc="Pythia 8 pseudo-data", unit="ev") as progress:
        for k, (name, (settings, _)) in enumerate(PROCESSES.items()):
            if expected[name] == 0:
                continue
            parts, truth, *_ = _generate_events(settings, int(expected[name]), seed + 100 * k + 50, progress,
                                                     heavy_flavour=name == "qcd")
            columns = _reconstruct(parts, truth, 1.0, rng, qcd=name == "qcd")
            if name == "qcd":
                kept = rng.random(len(columns["EventWeight"])) < columns["EventWeight"]
                columns = {c: v[kept] for c, v in columns.items()}
                columns["EventWeight"] = np.ones(len(columns["EventWeight"]), dtype=np.float32)
            data_parts.append(columns)
    data = _concat(data_parts)
    order = rng.permutation(len(data["EventWeight"]))
    _write(directory / "data.root", {k: v[order] for k, v in data.items()})


RECIPE = SampleRecipe(
    dataset="cms-hep-tutorial-2012",
    # v2: 7 TeV, as the 2011 data (was 8 TeV); v3: 50 pb^-1 and K-factors, W + jets reaching four jets,
    # heavy-flavour QCD muons with their neutrino, pile-up isolation, only events that may fire the trigger
    version=3,
    seed=212,
    n_events=8_000,
    summary="Pythia 8 ttbar, W+jets, Drell-Yan, single top, dibosons and QCD at 7 TeV with a parametrised CMS-like response, plus simulated pseudo-data",
    doc=__doc__,
    generate=generate,
)
