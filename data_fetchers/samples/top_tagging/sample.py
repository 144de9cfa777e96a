"""Simulated stand-in for the top-tagging reference dataset (Zenodo record 2603256).

**Physics**, following the reference dataset's published recipe (Kasieczka et al.,
SciPost Phys. 7 (2019) 014, arXiv:1902.09914): Pythia 8 (pythia8mc) at sqrt(s) = 14 TeV,
default tune, no multiparton interactions and no pile-up.
- signal (`is_signal_new = 1`): ttbar (`Top:gg2ttbar`, `Top:qqbar2ttbar`) with both W
  bosons decaying to quarks, pTHat in [540, 680] GeV;
- background (`is_signal_new = 0`): QCD dijets (`HardQCD:all`), pTHat in [540, 680] GeV.

**Detector** (a documented energy-flow response after the Delphes ATLAS card of the reference,
not ATLAS's simulation): every visible particle deposits its energy in calorimeter towers of
Delta eta x Delta phi = 0.1 x 10 degrees (electrons and photons with the card's ECAL resolution,
hadrons with its HCAL resolution), charged particles included. Charged particles with
pT > 0.5 GeV and |eta| < 2.5 are also tracks (95 % efficiency, pT resolution 1 % (+) 0.05 % x
pT/GeV). The energy-flow constituents are the tracks and, for each tower whose energy exceeds
that of its tracks by more than 1 GeV, a massless neutral candidate carrying the excess at the
tower centre, as Delphes' EFlow makes them. Neutrinos are invisible. The constituents are
clustered with FastJet, anti-kT R = 0.8.

**Selection**, as in the reference: the leading jet of each event only, with 550 < pT < 650
GeV and |eta| < 2. A signal jet must lie within Delta R < 0.8 of a hadronically decaying top
quark and of all three of its decay quarks (b, q, q'); QCD jets are not matched.

**Format**, as in the reference: `train.h5`, `val.h5`, `test.h5` (60/20/20 % of the jets),
each a pandas DataFrame under the key `table` with the columns E_0, PX_0, PY_0, PZ_0, E_1,
..., PZ_199 (float32, GeV: the leading 200 constituents by pT, zero-padded), truthE,
truthPX, truthPY, truthPZ (the matched top quark's four-momentum; zero for QCD), ttv (the
split: 0 train, 1 test, 2 validation; the files already encode it) and is_signal_new
(1 top, 0 QCD). Signal and background jets are shuffled together, about half each.
"""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import numpy as np
from tqdm import tqdm

from .. import SampleRecipe
from .._common import make_pythia, resolution_factors

FILENAMES = ["train.h5", "val.h5", "test.h5"]
SPLITS = {"train.h5": (0.0, 0.6, 0), "val.h5": (0.6, 0.8, 2), "test.h5": (0.8, 1.0, 1)}  # start, stop, ttv
N_CONSTITUENTS = 200
JET_R = 0.8
JET_PT_RANGE = (550.0, 650.0)
JET_ABS_ETA_MAX = 2.0

_COMMON = ["Beams:eCM = 14000", "PartonLevel:MPI = off", "PhaseSpace:pTHatMin = 540",
           "PhaseSpace:pTHatMax = 680", "Print:quiet = on", "Next:numberCount = 0"]
PROCESSES = {
    "top": ["Top:gg2ttbar = on", "Top:qqbar2ttbar = on", "24:onMode = off", "24:onIfAny = 1 2 3 4 5"],
    "qcd": ["HardQCD:all = on"],
}
_BATCH = 100  # events per Pythia call (bounds memory); part of the recipe: the output depends on it


def columns() -> list[str]:
    """The reference dataset's column names, in its order."""
    per_constituent = [f"{c}_{i}" for i in range(N_CONSTITUENTS) for c in ("E", "PX", "PY", "PZ")]
    return per_constituent + ["truthE", "truthPX", "truthPY", "truthPZ", "ttv", "is_signal_new"]


# ---------------------------------------------------------------------------------------
# truth: the hadronic top quarks and their decay quarks, from Pythia's event record


def _flat(prt):
    """Flat numpy views of the particle record, with event-global mother/daughter indices."""
    counts = ak.to_numpy(ak.num(prt.id))
    start = np.repeat(np.cumsum(counts) - counts, counts)
    flat = {k: ak.to_numpy(ak.flatten(prt[k])) for k in ("id", "status", "mother1", "daughter1", "daughter2")}
    for k in ("mother1", "daughter1", "daughter2"):
        flat[k] = flat[k] + start
    p = ak.flatten(prt.p)
    flat["p4"] = np.stack([ak.to_numpy(p[k]) for k in ("px", "py", "pz", "e")], axis=1)
    flat["event"] = np.repeat(np.arange(len(counts)), counts)
    return flat, counts


def _top_decays(flat, n_events):
    """For each event and top charge (+, -): the top four-momentum and its b, q, q' momenta.

    Returns an array (n_events, 2, 4, 4): [event, top or anti-top, (t, b, q, q'), (px, py, pz, E)],
    NaN where the decay was not found.
    """
    out = np.full((n_events, 2, 4, 4), np.nan)
    pid, d1, m1 = flat["id"], flat["daughter1"], flat["mother1"]
    for k, sign in enumerate((1, -1)):
        # the last top copy is the one that decays (its first daughter is its W or b)
        top = np.flatnonzero((pid == 6 * sign) & np.isin(np.abs(pid[d1]), (5, 24)))
        bottom = np.flatnonzero((pid == 5 * sign) & (pid[m1] == 6 * sign))
        w_last = np.flatnonzero((pid == 24 * sign) & (np.abs(pid[d1]) <= 5) & (flat["daughter1"] > 0))
        for rows, slot in ((top, 0), (bottom, 1)):
            ev = flat["event"][rows]
            out[ev, k, slot] = flat["p4"][rows]
        ev = flat["event"][w_last]
        out[ev, k, 2] = flat["p4"][d1[w_last]]
        out[ev, k, 3] = flat["p4"][flat["daughter2"][w_last]]
    return out


# ---------------------------------------------------------------------------------------
# detector: tracks and calorimeter towers

# calorimeter towers of the Delphes ATLAS card: 0.1 in eta, 10 degrees in phi
_TOWER_DETA, _TOWER_NPHI = 0.1, 36
TOWER_THRESHOLD = 1.0  # GeV: a tower's excess over its tracks that becomes a neutral candidate


def _charge_of(pids: np.ndarray, pythia) -> np.ndarray:
    unique, inverse = np.unique(pids, return_inverse=True)
    charges = np.array([pythia.particleData.charge(int(i)) for i in unique])
    return charges[inverse]


def _eta_phi(px, py, pz):
    pt = np.hypot(px, py)
    return np.arcsinh(pz / np.maximum(pt, 1e-12)), np.arctan2(py, px), pt


def _ecal_sigma(energy):
    """Delphes ATLAS card, ECAL: sigma(E) = sqrt((0.0017 E)^2 + 0.101^2 E / GeV)."""
    return np.sqrt((0.0017 * energy) ** 2 + 0.101 ** 2 * energy)


def _hcal_sigma(energy):
    """Delphes ATLAS card, HCAL (|eta| < 1.7): sigma(E) = sqrt((0.0302 E)^2 + 0.5205^2 E / GeV + (1.59 GeV)^2)."""
    return np.sqrt((0.0302 * energy) ** 2 + 0.5205 ** 2 * energy + 1.59 ** 2)


def _reconstruct(flat, counts, pythia, rng):
    """Energy-flow constituents per event, as Delphes' EFlow: tracks, then neutral candidates from
    the calorimeter towers' energy minus the energy of the tracks pointing at them (jagged px, py,
    pz, E).

    Every visible particle deposits in the calorimeter (electrons and photons in the ECAL, hadrons
    in the HCAL, each smeared with the ATLAS card's resolution), charged ones too. Tracks (charged
    particles with pT > 0.5 GeV and |eta| < 2.5, 95 % efficient, pT resolution 1 % (+) 0.05 % x
    pT/GeV) are energy-flow candidates of their own, and a tower whose energy exceeds its tracks'
    by more than TOWER_THRESHOLD becomes a massless neutral candidate carrying the excess at the
    tower's centre. So the calorimeter's fluctuations on charged hadrons and the towers' coarse
    granularity reach the jet, as in Delphes.
    """
    final = flat["status"] > 0
    pid = flat["id"]
    visible = final & ~np.isin(np.abs(pid), (12, 14, 16))
    idx = np.flatnonzero(visible)
    px, py, pz, e = flat["p4"][idx].T
    event = flat["event"][idx]
    eta, phi, pt = _eta_phi(px, py, pz)
    charge = _charge_of(pid[idx], pythia)
    tracked = (charge != 0) & (pt > 0.5) & (np.abs(eta) < 2.5) & (rng.random(len(idx)) < 0.95)
    # tracks: pT smeared, direction kept, pion mass
    scale = resolution_factors(np.hypot(0.01, 0.0005 * pt[tracked]), rng)
    momenta = np.stack([px[tracked], py[tracked], pz[tracked]], axis=1) * scale[:, None]
    tracks = np.column_stack([momenta, np.sqrt(np.sum(momenta ** 2, axis=1) + 0.13957 ** 2)])
    track_event = event[tracked]
    # calorimeter: every visible particle deposits its smeared energy in a tower
    em = np.isin(np.abs(pid[idx]), (11, 22))
    sigma = np.where(em, _ecal_sigma(e), _hcal_sigma(e)) / np.maximum(e, 1e-3)
    deposit = e * resolution_factors(sigma, rng, floor=0.0)
    ieta = np.floor(eta / _TOWER_DETA).astype(np.int64)
    iphi = np.floor((phi + np.pi) / (2 * np.pi) * _TOWER_NPHI).astype(np.int64) % _TOWER_NPHI
    key = (event * 4096 + (ieta + 2048)) * 64 + iphi  # sorted by event first
    towers, inverse = np.unique(key, return_inverse=True)
    tower_e = np.bincount(inverse, weights=deposit, minlength=len(towers))
    tower_e -= np.bincount(inverse[tracked], weights=tracks[:, 3], minlength=len(towers))
    keep = tower_e > TOWER_THRESHOLD
    towers, tower_e = towers[keep], tower_e[keep]
    tower_event = towers // (64 * 4096)
    t_eta = ((towers // 64) % 4096 - 2048 + 0.5) * _TOWER_DETA
    t_phi = ((towers % 64) + 0.5) / _TOWER_NPHI * 2 * np.pi - np.pi
    t_pt = tower_e / np.cosh(t_eta)
    tower_p4 = np.stack([t_pt * np.cos(t_phi), t_pt * np.sin(t_phi), t_pt * np.sinh(t_eta), tower_e], axis=1)
    # merge per event: tracks, then towers (stable sort keeps that order inside an event)
    all_p4 = np.concatenate([tracks, tower_p4])
    all_event = np.concatenate([track_event, tower_event])
    order = np.argsort(all_event, kind="stable")
    per_event = np.bincount(all_event, minlength=len(counts))
    p4 = all_p4[order]
    return ak.unflatten(ak.zip({"px": p4[:, 0], "py": p4[:, 1], "pz": p4[:, 2], "E": p4[:, 3]}), per_event)


# ---------------------------------------------------------------------------------------
# jets, selection, matching


def _delta_r(eta1, phi1, eta2, phi2):
    dphi = (phi1 - phi2 + np.pi) % (2 * np.pi) - np.pi
    return np.hypot(eta1 - eta2, dphi)


def _select_jets(constituents, decays, signal: bool):
    """Selected jets of a batch: (constituents padded to 200 x (E, px, py, pz), truth top p4)."""
    import fastjet

    cluster = fastjet.ClusterSequence(constituents, fastjet.JetDefinition(fastjet.antikt_algorithm, JET_R))
    jets = cluster.inclusive_jets()
    parts = cluster.constituents()
    counts = ak.to_numpy(ak.num(jets))
    jet_event = np.repeat(np.arange(len(counts)), counts)
    jx, jy, jz = (ak.to_numpy(ak.flatten(jets[k])) for k in ("px", "py", "pz"))
    jeta, jphi, jpt = _eta_phi(jx, jy, jz)
    # the leading jet of each event only, as in the reference
    first = np.concatenate([[0], np.cumsum(counts)[:-1]])
    has = counts > 0
    leading = np.zeros(len(jpt), dtype=bool)
    leading[first[has] + np.array([np.argmax(jpt[f:f + c]) for f, c in zip(first[has], counts[has])], dtype=np.int64)] = True
    chosen = leading & (jpt > JET_PT_RANGE[0]) & (jpt < JET_PT_RANGE[1]) & (np.abs(jeta) < JET_ABS_ETA_MAX)
    truth = np.zeros((len(jpt), 4))
    if signal:
        matched = np.zeros(len(jpt), dtype=bool)
        for k in range(2):  # top, anti-top
            d = decays[jet_event, k]  # (n_jets, 4 objects, 4)
            oeta, ophi, _ = _eta_phi(d[..., 0], d[..., 1], d[..., 2])
            close = _delta_r(jeta[:, None], jphi[:, None], oeta, ophi) < JET_R  # NaN compares False
            hit = close.all(axis=1) & ~matched
            truth[hit] = d[hit, 0][:, [3, 0, 1, 2]]  # E, px, py, pz
            matched |= hit
        chosen &= matched
    flat_parts = ak.flatten(parts, axis=1)[chosen]  # one list of constituents per chosen jet
    pt = np.hypot(flat_parts.px, flat_parts.py)
    flat_parts = flat_parts[ak.argsort(pt, axis=1, ascending=False)][:, :N_CONSTITUENTS]
    padded = ak.fill_none(ak.pad_none(flat_parts, N_CONSTITUENTS, clip=True), {"px": 0.0, "py": 0.0, "pz": 0.0, "E": 0.0})
    out = np.stack([ak.to_numpy(padded[k]) for k in ("E", "px", "py", "pz")], axis=2)
    return out.astype(np.float32), truth[chosen].astype(np.float32)


def _generate_class(process: str, n_jets: int, seed: int, bar=None) -> tuple[np.ndarray, np.ndarray]:
    """n_jets selected jets of one class: constituents (n, 200, 4) and truth (n, 4)."""
    pythia = make_pythia(_COMMON + PROCESSES[process], seed)
    rng = np.random.default_rng(seed)
    signal = process == "top"
    consts, truths, have = [], [], 0
    while have < n_jets:
        batch = pythia.nextBatch(_BATCH)
        flat, counts = _flat(batch.prt)
        decays = _top_decays(flat, len(counts)) if signal else None
        c, t = _select_jets(_reconstruct(flat, counts, pythia, rng), decays, signal)
        consts.append(c)
        truths.append(t)
        if bar is not None:
            bar.update(min(len(c), n_jets - have))
        have += len(c)
    return np.concatenate(consts)[:n_jets], np.concatenate(truths)[:n_jets]


def _write(directory: Path, consts: np.ndarray, truth: np.ndarray, label: np.ndarray, rng) -> None:
    import pandas as pd

    n = len(label)
    for filename, (start, stop, ttv) in SPLITS.items():
        rows = np.arange(int(start * n), int(stop * n))
        rows = rows[rng.permutation(len(rows))]
        data = {name: col for name, col in zip(columns()[:4 * N_CONSTITUENTS],
                                               consts[rows].reshape(len(rows), -1).T)}
        for name, col in zip(["truthE", "truthPX", "truthPY", "truthPZ"], truth[rows].T):
            data[name] = col
        data["ttv"] = np.full(len(rows), ttv, dtype=np.int64)
        data["is_signal_new"] = label[rows].astype(np.int64)
        frame = pd.DataFrame(data, columns=columns())
        frame.to_hdf(directory / filename, key="table", mode="w", format="fixed", complevel=1, complib="zlib")


def generate(directory: Path, n_events: int, seed: int) -> None:
    """Write train.h5, val.h5 and test.h5 with n_events jets in all, half top and half QCD."""
    n_top = n_events // 2
    n_qcd = n_events - n_top
    # One process, one class after the other: forking the notebook's kernel into two workers
    # halves the time but its children's memory would push a Binder kernel past 2 GB.
    with tqdm(total=n_events, unit="jet", desc="top, then QCD jets") as bar:
        top_c, top_t = _generate_class("top", n_top, seed, bar)
        qcd_c, qcd_t = _generate_class("qcd", n_qcd, seed + 1, bar)
    # interleave so that every split holds both classes in the same proportion
    consts = np.empty((n_events, N_CONSTITUENTS, 4), np.float32)
    truth = np.empty((n_events, 4), np.float32)
    label = np.zeros(n_events, np.int64)
    order = np.random.default_rng(seed).permutation(n_events)
    sig_rows, bkg_rows = np.sort(order[:n_top]), np.sort(order[n_top:])
    consts[sig_rows], truth[sig_rows], label[sig_rows] = top_c, top_t, 1
    consts[bkg_rows], truth[bkg_rows] = qcd_c, qcd_t
    _write(directory, consts, truth, label, np.random.default_rng(seed + 2))


RECIPE = SampleRecipe(
    dataset="top-tagging-2019",
    version=2,  # v2: Delphes-like energy flow (calorimeter deposits of charged particles, tower minus tracks), leading jet only
    seed=20190314,
    n_events=20_000,
    summary="Pythia 8 + FastJet at 14 TeV: hadronic top jets vs QCD jets, pT 550-650 GeV, anti-kT 0.8",
    doc=__doc__,
    generate=generate,
)
