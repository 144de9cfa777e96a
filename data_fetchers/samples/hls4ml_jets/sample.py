"""Simulated stand-in for the hls4ml LHC jet dataset, high-level features (OpenML data id 42468).

**Physics**, following the recipe of the real dataset's parent study as far as it is published
(Coleman et al., JINST 13 (2018) T01003, arXiv:1709.08705; Duarte et al., JINST 13 (2018) P07027,
arXiv:1804.06913; the study's ntupliser, github.com/nhanvtran/trackObservables,
processing/anaSubstructure.cpp): proton-proton collisions at 13 TeV generated with Pythia 8
(pythia8mc, default Monash tune, multiparton interactions on, no pile-up) at the particle level,
without a detector simulation. The real dataset's parton-level events came from MadGraph; here
Pythia 8's own processes stand in for them:
- `g`: gluon pairs (`HardQCD:gg2gg`, `HardQCD:qqbar2gg`), pT of the hard process 950-1050 GeV;
- `q`: light-quark pairs (`HardQCD:qq2qq`, `HardQCD:qqbar2qqbarNew`), the same pT;
- `t`: top-quark pairs (`Top:gg2ttbar`, `Top:qqbar2ttbar`), the same pT, both W decaying to quarks;
- `w` and `z`: the W and the Z of a 2 TeV W' decaying to W Z (`NewGaugeBoson:ffbar2Wprime`, both
  bosons decaying to quarks, with Pythia 8's full decay correlations), so the bosons are
  longitudinally polarised and share their momentum evenly between the two quarks. How the real
  W and Z jets were produced is not published here; Standard Model W and Z pairs are mostly
  transversely polarised, and mMDT then grooms one quark away in a quarter of the jets (groomed
  mass below 40 GeV), against 5-6 % here, which the real dataset's published per-class AUCs
  favour (the Data page's realism table).

**Jets**: every visible final-state particle (all but neutrinos) is clustered with FastJet,
anti-kT R = 0.8. Each of the event's objects of the class (the two outgoing partons, the two tops,
or the W' decay's W or Z) is matched to the closest jet within Delta R < 0.8; a matched jet with
800 < pT < 1200 GeV and |eta| < 2.5 is kept, so an event gives one or two jets of its class. A W, Z
or top jet need not contain all its decay products (the real dataset also has W jets whose groomed
mass is a few GeV).

**Features**, the real dataset's 16, computed as its parent study computes them: `zlogz` = sum of
z ln z with z = E_i / E_jet, and `multiplicity` (the number of constituents, stored as a float),
both on the ungroomed jet; the jet groomed with the modified mass-drop tagger (mMDT: soft drop with
beta = 0, z_cut = 0.1, R0 = 0.8; FastJet contrib's `SoftDrop`) gives `mass_mmdt` (GeV) and, through
FastJet contrib's `EnergyCorrelator` classes (pT and Delta R measure), the energy-correlation
ratios C1 (beta = 0, 1, 2), C2, D2, M2, N2 (beta = 1, 2) and the generalised D2 with alpha = 1
(beta = 1, 2; with beta = 1 it equals D2, as in the real data). A jet groomed down to two
constituents has no three-point correlation: its C2, D2, M2 and N2 are 0 (about 1 % of the quark
jets); a jet whose ratios are undefined (0/0, a single groomed constituent) is not kept.

**Format**, as OpenML serves the real dataset: one Parquet file, `dataset_42468.pq`, with the 16
feature columns in the real order (float64) and the target `class` (string: g, q, t, w, z), the
rows of all classes shuffled together. The classes are balanced (the real dataset's are within a
percent of 20 % each).

**Shipped, not generated on first use**: the 50,000 jets take several minutes of Pythia 8 on one
CPU, so the sample ships with the package (`hls4ml_jets_sample.pq`) and first use copies it into
the cache. `python -m data_fetchers.samples.hls4ml_jets.sample` rewrites it from this generator. The jets
are generated in chunks of 500 with a seed per (class, chunk), so a test regenerates a slice and
checks that it is bit-identical to the shipped file.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import awkward as ak
import numpy as np

from .. import SampleRecipe
from .._common import make_pythia
from hepml.hlf import CLASSES, FEATURES  # the real dataset's names, one place

FILENAME = "dataset_42468.pq"
SHIPPED = Path(__file__).with_name("hls4ml_jets_sample.pq")
JET_R = 0.8
JET_PT_RANGE, JET_ABS_ETA_MAX = (800.0, 1200.0), 2.5
CHUNK = 500  # jets per (class, chunk): the unit of determinism (part of the recipe)
_BATCH = 100  # events per Pythia call (part of the recipe: the output depends on it)

_COMMON = ["Beams:eCM = 13000", "PhaseSpace:pTHatMin = 950", "PhaseSpace:pTHatMax = 1050",
           "Print:quiet = on", "Next:numberCount = 0"]
_HADRONIC_W = ["24:onMode = off", "24:onIfAny = 1 2 3 4 5"]
_W_PRIME = ["NewGaugeBoson:ffbar2Wprime = on", "Wprime:coup2WZ = 1", "34:m0 = 2000", "34:onMode = off",
            "34:onIfAny = 23 24", "23:onMode = off", "23:onIfAny = 1 2 3 4 5"] + _HADRONIC_W
PROCESSES = {
    "g": ["HardQCD:gg2gg = on", "HardQCD:qqbar2gg = on"],
    "q": ["HardQCD:qq2qq = on", "HardQCD:qqbar2qqbarNew = on"],
    "t": ["Top:gg2ttbar = on", "Top:qqbar2ttbar = on"] + _HADRONIC_W,
    # W and Z jets from W' -> W Z (2 TeV): longitudinal bosons, with Pythia 8's full decay correlations
    "w": _W_PRIME,
    "z": _W_PRIME,
}
TARGET_IDS = {"g": [21], "q": [1, 2, 3, 4, 5], "t": [6], "w": [24], "z": [23]}  # |PDG id| of what a jet is matched to


# ---------------------------------------------------------------------------------------
# features of jets given as jagged constituents (px, py, pz, E)


def _cluster_whole(constituents: ak.Array):
    """One FastJet cluster sequence per jet (Cambridge/Aachen, as mMDT declusters), so that
    ``exclusive_jets(1)`` is each jet again with its clustering history."""
    import fastjet

    return fastjet.ClusterSequence(ak.zip({k: constituents[k] for k in ("px", "py", "pz", "E")}),
                                   fastjet.JetDefinition(fastjet.cambridge_algorithm, JET_R))


def jet_features(constituents: ak.Array) -> dict[str, np.ndarray]:
    """The 16 features of each jet, in the real dataset's names (NaN where a ratio is undefined)."""
    energy = constituents.E
    z = energy / ak.sum(energy, axis=1)
    out = {"zlogz": ak.to_numpy(ak.sum(z * np.log(z), axis=1)),
           "multiplicity": ak.to_numpy(ak.num(energy)).astype(np.float64)}
    groomed = _cluster_whole(constituents).exclusive_jets_softdrop_grooming(
        1, beta=0.0, symmetry_cut=0.1, symmetry_measure="scalar_z", R0=JET_R)
    out["mass_mmdt"] = ak.to_numpy(groomed.msoftdrop)
    sequence = _cluster_whole(groomed.constituents)

    def ecf(func, beta, alpha=0.0):
        with np.errstate(divide="ignore", invalid="ignore"):
            return ak.to_numpy(sequence.exclusive_jets_energy_correlator(1, beta=beta, alpha=alpha, func=func))

    for beta in (0, 1, 2):
        out[f"c1_b{beta}_mmdt"] = ecf("c1", beta)
    for beta in (1, 2):
        for func in ("c2", "d2", "m2", "n2"):
            out[f"{func}_b{beta}_mmdt"] = ecf(func, beta)
        out[f"d2_a1_b{beta}_mmdt"] = ecf("generalizedd2", beta, alpha=1.0)
    return {name: out[name] for name in FEATURES}


# ---------------------------------------------------------------------------------------
# events -> matched jets


def _eta_phi(px, py, pz):
    pt = np.hypot(px, py)
    return np.arcsinh(pz / np.maximum(pt, 1e-12)), np.arctan2(py, px), pt


def _matched_jets(prt: ak.Array, label: str) -> ak.Array:
    """The constituents of the jets matched to the event's two objects of the class (partons,
    bosons or top quarks)."""
    import fastjet

    # the hard process's outgoing partons (status -23), or the first copies of the bosons or tops (-22)
    abs_id = abs(prt.id)
    is_target = abs_id == TARGET_IDS[label][0]
    for pdg_id in TARGET_IDS[label][1:]:
        is_target = is_target | (abs_id == pdg_id)
    hard = prt[((prt.status == -22) | (prt.status == -23)) & is_target]
    # one or two per event, padded to two with NaN (a NaN distance matches nothing)
    t_eta, t_phi, _ = _eta_phi(*(ak.to_numpy(ak.fill_none(ak.pad_none(hard.p[k], 2, clip=True), np.nan))
                                 for k in ("px", "py", "pz")))
    visible = prt[(prt.status > 0) & (abs(prt.id) != 12) & (abs(prt.id) != 14) & (abs(prt.id) != 16)]
    particles = ak.zip({"px": visible.p.px, "py": visible.p.py, "pz": visible.p.pz, "E": visible.p.e})
    sequence = fastjet.ClusterSequence(particles, fastjet.JetDefinition(fastjet.antikt_algorithm, JET_R))
    jets = sequence.inclusive_jets(min_pt=100.0)
    parts = sequence.constituents(min_pt=100.0)
    counts = ak.to_numpy(ak.num(jets))
    event = np.repeat(np.arange(len(counts)), counts)
    j_eta, j_phi, j_pt = _eta_phi(*(ak.to_numpy(ak.flatten(jets[k])) for k in ("px", "py", "pz")))
    keep = np.zeros(len(j_pt), dtype=bool)
    for k in range(2):  # each outgoing object takes the closest jet of its event, if within Delta R < R
        dphi = (j_phi - t_phi[event, k] + np.pi) % (2 * np.pi) - np.pi
        dr = np.hypot(j_eta - t_eta[event, k], dphi)
        order = np.lexsort((dr, event))
        closest = order[np.r_[True, event[order][1:] != event[order][:-1]]] if len(order) else order
        keep[closest[dr[closest] < JET_R]] = True  # NaN < R is False
    keep &= (j_pt > JET_PT_RANGE[0]) & (j_pt < JET_PT_RANGE[1]) & (np.abs(j_eta) < JET_ABS_ETA_MAX)
    return ak.flatten(parts, axis=1)[keep]


def generate_chunk(label: str, chunk: int, seed: int) -> dict[str, np.ndarray]:
    """CHUNK jets of one class, with a seed of their own (deterministic, independent of other chunks)."""
    pythia = make_pythia(_COMMON + PROCESSES[label], seed + 1000 * CLASSES.index(label) + chunk)
    columns: dict[str, list] = {name: [] for name in FEATURES}
    have = 0
    while have < CHUNK:
        features = jet_features(_matched_jets(pythia.nextBatch(_BATCH).prt, label))
        finite = np.all(np.isfinite(np.column_stack(list(features.values()))), axis=1)
        for name in FEATURES:
            columns[name].append(features[name][finite])
        have += int(finite.sum())
    return {name: np.concatenate(v)[:CHUNK] for name, v in columns.items()}


def assemble(chunks: dict[str, list[dict[str, np.ndarray]]], seed: int):
    """The table of all chunks (class by class, chunk by chunk), rows shuffled with ``seed``."""
    import pandas as pd

    frames = [pd.DataFrame(c).assign(**{"class": label}) for label in CLASSES for c in chunks[label]]
    table = pd.concat(frames, ignore_index=True)
    return table.iloc[np.random.default_rng(seed).permutation(len(table))].reset_index(drop=True)


def row_positions(n_events: int, seed: int) -> np.ndarray:
    """Where each generated row (class by class, chunk by chunk) lands in the shuffled table."""
    order = np.random.default_rng(seed).permutation(n_events)
    positions = np.empty(n_events, dtype=np.int64)
    positions[order] = np.arange(n_events)
    return positions


def _chunk_task(task):
    return task, generate_chunk(*task)


def simulate(n_events: int, seed: int, progress: bool = True, jobs: int = 1):
    """Run the generator: n_events jets (a multiple of 5 x CHUNK), balanced over the classes.
    The result does not depend on ``jobs`` (each chunk has its own seed)."""
    from tqdm import tqdm

    per_class = n_events // len(CLASSES)
    if per_class % CHUNK or per_class * len(CLASSES) != n_events:
        raise ValueError(f"n_events must be a multiple of {len(CLASSES) * CHUNK} (got {n_events}).")
    tasks = [(label, chunk, seed) for label in CLASSES for chunk in range(per_class // CHUNK)]
    done = {}
    with tqdm(total=n_events, unit="jet", desc="g, q, t, w, z jets", disable=not progress) as bar:
        if jobs > 1:
            import multiprocessing

            with multiprocessing.get_context("spawn").Pool(jobs) as pool:
                for task, columns in pool.imap_unordered(_chunk_task, tasks):
                    done[task] = columns
                    bar.update(CHUNK)
        else:
            for task in tasks:
                done[task] = generate_chunk(*task)
                bar.update(CHUNK)
    return assemble({label: [done[t] for t in tasks if t[0] == label] for label in CLASSES}, seed)


def write(table, path: Path) -> None:
    table.to_parquet(path, index=False, compression="zstd")


def generate(directory: Path, n_events: int, seed: int) -> None:
    """Copy the shipped sample (the recipe's own size and seed) or simulate another one."""
    if (n_events, seed) == (RECIPE.n_events, RECIPE.seed) and SHIPPED.exists():
        shutil.copyfile(SHIPPED, directory / FILENAME)
        return
    write(simulate(n_events, seed), directory / FILENAME)


RECIPE = SampleRecipe(
    dataset="hls4ml-lhc-jets-hlf",
    version=1,
    seed=20200115,
    n_events=50_000,
    summary="Pythia 8 + FastJet at 13 TeV, particle level: g, q, t, W, Z jets of about 1 TeV, anti-kT 0.8, the 16 mMDT-groomed substructure features",
    doc=__doc__,
    generate=generate,
)


if __name__ == "__main__":  # python -m data_fetchers.samples.hls4ml_jets.sample [JOBS]: rewrite the shipped sample
    import sys

    write(simulate(RECIPE.n_events, RECIPE.seed, jobs=int(sys.argv[1]) if len(sys.argv) > 1 else 1), SHIPPED)
    print(f"wrote {SHIPPED} ({SHIPPED.stat().st_size / 1e6:.1f} MB)")
