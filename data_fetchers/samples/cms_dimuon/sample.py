"""Simulated stand-in for the CMS 2012 DoubleMuParked muon file (record 12341).

**Physics.** Pythia 8 (pythia8mc), proton-proton collisions at sqrt(s) = 8 TeV, four
independent runs mixed in fixed numbers of *triggered* events, chosen so that every resonance of
the real spectrum is visible (they are *not* cross-section weighted):

| events | process (Pythia 8 switches)                                    | mass window |
|-------:|----------------------------------------------------------------|-------------|
| 2,000  | J/psi -> mu mu, colour-singlet `Charmonium:gg2ccbar(3S1)[3S1(1)]g`, pTHat > 12 GeV | 3.097 GeV |
| 1,000  | Upsilon(1S, 2S, 3S) -> mu mu, colour-singlet `Bottomonium:gg2bbbar(3S1)[3S1(1)]g`, pTHat > 12 GeV | 9.5-10.4 GeV |
| 4,000  | Drell-Yan gamma*/Z -> mu mu, `WeakSingleBoson:ffbar2gmZ`, 4 < mHat < 60 GeV | continuum |
| 8,000  | gamma*/Z -> mu mu, `WeakSingleBoson:ffbar2gmZ`, mHat > 60 GeV      | Z peak |

Initial- and final-state showers are on; multiparton interactions and hadronisation are
switched off because only the muons are kept (this makes generation several thousand events/s).

**Trigger** (an effective parametrisation, not CMS's trigger): among the generated muons with
|eta| < 2.4 and pT > 3 GeV, the event needs two, and is kept with probability
Phi((pT1 - 15 GeV) / 2 GeV) x Phi((pT2 - 7 GeV) / 2 GeV) for its leading and subleading muons
(Phi the normal cumulative distribution): a smooth stand-in for the dataset's dimuon trigger paths
(HLT_Mu17_Mu8 and its relatives) seen through the offline momenta. It is calibrated on the J/psi
candidates of 1000 real events (../shared/data), whose transverse momenta start near 18 GeV and
have a median of 26 GeV: the trigger, not the production, shapes the low-pT spectrum. The
generator's pTHat > 12 GeV for the quarkonia lies below that turn-on (lowering it to 10 GeV moves
the candidates' median pT by 0.5 GeV), so it does not shape what the file shows.

**Detector response** (a simple, documented parametrisation, not CMS's simulation): each
triggered-event muon is reconstructed with 95 % efficiency, a relative pT resolution of
1 % + 0.01 % x pT/GeV (Gaussian), and eta and phi smeared by 0.001. A Poisson number (mean
0.45) of extra non-prompt muons per event (random charge, pT = 3 GeV + exponential of mean
3 GeV, flat in |eta| < 2.4 and phi) mimics heavy-flavour decays and pile-up, giving the real
file's three- and four-muon events and same-sign pairs. Events are then shuffled.

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

from .. import SampleRecipe
from .._common import make_pythia

FILENAME = "Run2012BC_DoubleMuParked_Muons.root"
MUON_MASS = np.float32(0.10565837)

_COMMON = [
    "Beams:eCM = 8000",
    "PartonLevel:MPI = off",
    "HadronLevel:Hadronize = off",  # decays stay on: the J/psi and Upsilons must decay
    "Print:quiet = on",
]
TRIGGER = ((15.0, 2.0), (7.0, 2.0))  # (threshold, width) in GeV, leading and subleading muon
# (name, triggered events in the default sample, Pythia settings)
PROCESSES = [
    ("jpsi", 2_000, ["Charmonium:gg2ccbar(3S1)[3S1(1)]g = on,off", "PhaseSpace:pTHatMin = 12",
                     "443:onMode = off", "443:onIfMatch = 13 -13"]),
    ("upsilon", 1_000, ["Bottomonium:states(3S1) = 553,100553,200553",
                        "Bottomonium:gg2bbbar(3S1)[3S1(1)]g = on,on,on", "PhaseSpace:pTHatMin = 12"]
     + [f"{pid}:{s}" for pid in (553, 100553, 200553) for s in ("onMode = off", "onIfMatch = 13 -13")]),
    ("drell_yan", 4_000, ["WeakSingleBoson:ffbar2gmZ = on", "PhaseSpace:mHatMin = 4",
                          "PhaseSpace:mHatMax = 60", "23:onMode = off", "23:onIfAny = 13"]),
    ("z", 8_000, ["WeakSingleBoson:ffbar2gmZ = on", "PhaseSpace:mHatMin = 60",
                   "23:onMode = off", "23:onIfAny = 13"]),
]
DEFAULT_EVENTS = sum(n for _, n, _ in PROCESSES)


def trigger_probability(lead_pt, sub_pt):
    """The effective dimuon trigger's efficiency for events' leading and subleading muons."""
    from scipy.stats import norm

    (t1, w1), (t2, w2) = TRIGGER
    return norm.cdf((np.asarray(lead_pt) - t1) / w1) * norm.cdf((np.asarray(sub_pt) - t2) / w2)


_BATCH = 2000  # events per Pythia call (part of the recipe: the output depends on it)


def _run_pythia(settings: list[str], n_events: int, seed: int, progress) -> ak.Array:
    """Generate events until ``n_events`` pass the trigger; return their muons within |eta| < 2.4
    and pT > 3 GeV (fields pt, eta, phi, charge)."""
    pythia = make_pythia(_COMMON + settings, seed)
    rng = np.random.default_rng(seed)
    kept, have = [], 0
    while have < n_events:
        prt = pythia.nextBatch(_BATCH).prt
        p = prt.p
        pt = np.hypot(p.px, p.py)
        eta = np.arcsinh(p.pz / np.maximum(pt, 1e-12))
        muon = (prt.status > 0) & (abs(prt.id) == 13) & (abs(eta) < 2.4) & (pt > 3)
        muons = ak.zip({"pt": pt[muon], "eta": eta[muon], "phi": np.arctan2(p.py, p.px)[muon],
                        "charge": -np.sign(prt.id[muon])})
        muons = muons[ak.num(muons) >= 2]
        ordered = ak.sort(muons.pt, axis=1, ascending=False)
        passed = rng.random(len(muons)) < trigger_probability(ak.to_numpy(ordered[:, 0]), ak.to_numpy(ordered[:, 1]))
        muons = muons[passed][: n_events - have]
        kept.append(muons)
        have += len(muons)
        progress.update(len(muons))
    return ak.concatenate(kept)


def _detector(muons: ak.Array, rng: np.random.Generator) -> ak.Array:
    """Apply the documented muon response to triggered events; return reconstructed muons per event."""
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
    per_process = [int(round(n * n_events / DEFAULT_EVENTS)) for _, n, _ in PROCESSES]
    per_process[0] += n_events - sum(per_process)
    with tqdm(total=n_events, desc="Pythia 8 events", unit="ev") as progress:
        events = ak.concatenate([_run_pythia(settings, n, seed + k, progress)
                                 for k, ((_, _, settings), n) in enumerate(zip(PROCESSES, per_process))])
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
    version=4,  # v4: an effective trigger shapes the low-pT spectrum (was: the generator's pTHat cut); v3: more Zs
    seed=2012,
    n_events=DEFAULT_EVENTS,
    summary="Pythia 8 J/psi, Upsilon, Drell-Yan and Z to two muons at 8 TeV with a parametrised muon response",
    doc=__doc__,
    generate=generate,
)
