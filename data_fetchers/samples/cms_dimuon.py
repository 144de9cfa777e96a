"""Simulated stand-in for the CMS 2012 DoubleMuParked muon file (record 12341).

**Physics.** Pythia 8 (pythia8mc), proton-proton collisions at sqrt(s) = 8 TeV, four
independent runs mixed in fixed proportions chosen so that every resonance of the real
spectrum is visible (they are *not* cross-section weighted):

| fraction | process (Pythia 8 switches)                                    | mass window |
|---------:|----------------------------------------------------------------|-------------|
| 30 %     | J/psi -> mu mu, colour-singlet `Charmonium:gg2ccbar(3S1)[3S1(1)]g`, pTHat > 8 GeV | 3.097 GeV |
| 12 %     | Upsilon(1S, 2S, 3S) -> mu mu, colour-singlet `Bottomonium:gg2bbbar(3S1)[3S1(1)]g`, pTHat > 6 GeV | 9.5-10.4 GeV |
| 23 %     | Drell-Yan gamma*/Z -> mu mu, `WeakSingleBoson:ffbar2gmZ`, 4 < mHat < 60 GeV | continuum |
| 35 %     | gamma*/Z -> mu mu, `WeakSingleBoson:ffbar2gmZ`, mHat > 60 GeV      | Z peak |

Initial- and final-state showers are on; multiparton interactions and hadronisation are
switched off because only the muons are kept (this makes generation ~4000 events/s).

**Trigger and detector response** (a simple, documented parametrisation, not CMS's
simulation): the event is kept if at least two generated muons have |eta| < 2.4 and
pT > 3 GeV (the DoubleMu trigger); each of them is then reconstructed with 95 %
efficiency, a relative pT resolution of 1 % + 0.01 % x pT/GeV (Gaussian), and eta and phi
smeared by 0.001. A Poisson number (mean 0.45) of extra non-prompt muons per event
(random charge, pT = 3 GeV + exponential of mean 3 GeV, flat in |eta| < 2.4 and phi)
mimics heavy-flavour decays and pile-up, giving the real file's three- and four-muon
events and same-sign pairs. Events are then shuffled. With these choices the muon
multiplicities resemble the real file's (about 55 % of events with two muons, 30 % with
more, 10 % with one).

**Format.** ROOT file `Run2012BC_DoubleMuParked_Muons.root`, TTree `Events`, branches
`nMuon`, `Muon_pt`, `Muon_eta`, `Muon_phi`, `Muon_mass`, `Muon_charge`, muons in no
particular order, as in the real file. One difference: uproot writes the counter `nMuon`
as Int_t where the real file has UInt_t; the values and every reader are unaffected.
"""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import numpy as np
import uproot
from tqdm import tqdm

from . import SampleRecipe
from ._common import make_pythia

FILENAME = "Run2012BC_DoubleMuParked_Muons.root"
MUON_MASS = np.float32(0.10565837)

_COMMON = [
    "Beams:eCM = 8000",
    "PartonLevel:MPI = off",
    "HadronLevel:Hadronize = off",  # decays stay on: the J/psi and Upsilons must decay
    "Print:quiet = on",
]
# (name, fraction, Pythia settings)
PROCESSES = [
    ("jpsi", 0.30, ["Charmonium:gg2ccbar(3S1)[3S1(1)]g = on,off", "PhaseSpace:pTHatMin = 8",
                    "443:onMode = off", "443:onIfMatch = 13 -13"]),
    ("upsilon", 0.12, ["Bottomonium:states(3S1) = 553,100553,200553",
                       "Bottomonium:gg2bbbar(3S1)[3S1(1)]g = on,on,on", "PhaseSpace:pTHatMin = 6"]
     + [f"{pid}:{s}" for pid in (553, 100553, 200553) for s in ("onMode = off", "onIfMatch = 13 -13")]),
    ("drell_yan", 0.23, ["WeakSingleBoson:ffbar2gmZ = on", "PhaseSpace:mHatMin = 4",
                         "PhaseSpace:mHatMax = 60", "23:onMode = off", "23:onIfAny = 13"]),
    ("z", 0.35, ["WeakSingleBoson:ffbar2gmZ = on", "PhaseSpace:mHatMin = 60",
                 "23:onMode = off", "23:onIfAny = 13"]),
]


def _run_pythia(settings: list[str], n_events: int, seed: int, progress):
    """Generate ``n_events`` and return the true final-state muons as (pt, eta, phi, charge) lists."""
    pythia = make_pythia(_COMMON + settings, seed)
    events = []
    while len(events) < n_events:
        if not pythia.next():
            continue
        muons = [(p.pT(), p.eta(), p.phi(), -np.sign(p.id()))
                 for p in pythia.event if p.isFinal() and abs(p.id()) == 13]
        events.append(muons)
        progress.update()
    return events


def _detector(events: list, rng: np.random.Generator) -> ak.Array:
    """Apply the documented trigger and muon response; return reconstructed muons per event."""
    counts = np.array([len(e) for e in events])
    flat = np.array([m for e in events for m in e], dtype=np.float64).reshape(-1, 4)
    pt, eta, phi, charge = flat.T
    truth = ak.unflatten(ak.zip({"pt": pt, "eta": eta, "phi": phi, "charge": charge}), counts)
    in_acceptance = (np.abs(truth.eta) < 2.4) & (truth.pt > 3)
    triggered = ak.sum(in_acceptance, axis=1) >= 2
    muons = truth[in_acceptance][triggered]

    flat = ak.flatten(muons)
    n_flat = len(flat)
    reco_pt = flat.pt.to_numpy() * (1 + rng.normal(0, 0.01 + 1e-4 * flat.pt.to_numpy()))
    reco = ak.zip({
        "pt": reco_pt,
        "eta": flat.eta.to_numpy() + rng.normal(0, 0.001, n_flat),
        "phi": np.angle(np.exp(1j * (flat.phi.to_numpy() + rng.normal(0, 0.001, n_flat)))),  # wrap to (-pi, pi]
        "charge": flat.charge.to_numpy(),
    })
    found = rng.random(n_flat) < 0.95
    muons = ak.unflatten(reco, ak.num(muons))[ak.unflatten(found, ak.num(muons))]

    n_extra = rng.poisson(0.45, len(muons))
    total = int(n_extra.sum())
    fake = ak.zip({
        "pt": 3 + rng.exponential(3.0, total), "eta": rng.uniform(-2.4, 2.4, total),
        "phi": rng.uniform(-np.pi, np.pi, total), "charge": rng.choice([-1.0, 1.0], total),
    })
    return ak.concatenate([muons, ak.unflatten(fake, n_extra)], axis=1)


def generate(directory: Path, n_events: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    per_process = [int(round(f * n_events)) for _, f, _ in PROCESSES]
    per_process[0] += n_events - sum(per_process)
    events = []
    with tqdm(total=n_events, desc="Pythia 8 events", unit="ev") as progress:
        for k, ((_, _, settings), n) in enumerate(zip(PROCESSES, per_process)):
            events += _run_pythia(settings, n, seed + k, progress)
    muons = _detector(events, rng)
    muons = muons[rng.permutation(len(muons))]
    branches = {
        "Muon_pt": ak.values_astype(muons.pt, np.float32),
        "Muon_eta": ak.values_astype(muons.eta, np.float32),
        "Muon_phi": ak.values_astype(muons.phi, np.float32),
        "Muon_mass": ak.values_astype(ak.full_like(muons.pt, MUON_MASS), np.float32),
        "Muon_charge": ak.values_astype(muons.charge, np.int32),
    }
    with uproot.recreate(directory / FILENAME) as f:
        # mktree, not f[...] = ..., because uproot 5.7 otherwise writes an RNTuple
        f.mktree("Events", {k: v.type.content for k, v in branches.items()},
                 counter_name=lambda _branch: "nMuon")
        f["Events"].extend(branches)


RECIPE = SampleRecipe(
    dataset="cms-dimuon-2012",
    version=3,  # v3: a larger Z share (about 4,000 Z candidates for chapter 5's inference)
    seed=2012,
    n_events=45_000,
    summary="Pythia 8 J/psi, Upsilon, Drell-Yan and Z to two muons at 8 TeV with a parametrised muon response",
    doc=__doc__,
    generate=generate,
)
