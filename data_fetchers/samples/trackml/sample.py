"""Simulated stand-in for the TrackML particle-tracking dataset (2018).

**Events.** Pythia 8 (pythia8mc) at sqrt(s) = 14 TeV: one hard-scatter top-quark pair
(`Top:gg2ttbar`, `Top:qqbar2ttbar`) plus `PILEUP` (40 by default; 200 in the real dataset)
inelastic minimum-bias collisions (`SoftQCD:inelastic`), with multiparton interactions and
hadronisation. Each collision has its own vertex, Gaussian in x, y (15 um) and z (50 mm).
The particles listed are the dataset's: every charged final-state particle with pT > 0.1 GeV
and |eta| < 4, produced where Pythia puts it (decays of K0S, Lambda, ... happen away from the
vertex); as in the real events, only those above 0.15 GeV are simulated through the detector
(the real particles between 0.10 and 0.15 GeV have almost no hits).

**Detector.** The TrackML detector's 48 layers and 18,728 modules, rebuilt from a few numbers
per layer derived from the real `detectors.csv` (`geometry.py`): pixel, short-strip and
long-strip barrels and endcap disks, modules at their real positions, orientations, sizes and
pitches. Particles follow helices in a uniform 2 T solenoid field (steps of 10 mm, exact helix
arcs); wherever a particle crosses a layer it picks up multiple scattering (Highland formula;
2 %, 3 % and 4 % of a radiation length per pixel, short-strip and long-strip layer, a simple
stand-in for sensors, supports and services), and a hadron has a 2.5 % chance (3.5 % in the
strips) of a nuclear interaction that stops it and emits one to four soft charged secondaries
(pions and protons, 0.35 GeV on average). Particles stop when they leave the detector or have turned through one
full circle. No energy loss, no photon conversions, no delta rays.

**Hits.** A layer crossing gives a hit on every module whose active area the particle passes
through (two on overlapping modules, none in gaps), 98 % efficient. The measured position is
the charge-weighted centre of the cells (pixels of 50 x 56 um, strips) the particle crosses in
the sensor's thickness, so that the resolution is the real pitch's; `cells.csv` lists those cells
(pixel charge in arbitrary units, strips binary). Noise hits, 14 % of all hits as in the real
events, are spread uniformly over the modules.

**Files** exactly as the challenge's throughput phase's, in a directory `events/`: `detectors.csv`
(the rebuilt modules) and, per event, gzipped CSV files `event<9 digits>-hits.csv.gz` (hit_id,
x, y, z [mm], volume_id, layer_id, module_id), `-cells.csv`
(hit_id, ch0, ch1, value), `-particles.csv` (particle_id, particle_type, vx, vy, vz [mm], px, py,
pz [GeV], q, nhits) and `-truth.csv` (hit_id, particle_id, tx, ty, tz, tpx, tpy, tpz, weight).
Hits are numbered in detector order (volume, layer, module), never by particle. particle_id
encodes vertex << 52 | primary << 36 | generation << 24 | secondary << 12 | process, as the
real ids do; noise hits have particle_id 0. The truth weights follow the challenge's published
rule (`hepml.trackml.hit_weights`). Events are numbered from 1000, like the real training set.
"""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from .. import SampleRecipe
from .._common import make_pythia
from .geometry import BARREL_VOLUMES, build

PILEUP = 40
FIRST_EVENT = 1000
B_FIELD_T = 2.0
PT_MIN, ETA_MAX = 0.1, 4.0  # the particles listed
SIMULATED_PT_MIN = 0.15  # GeV: only particles above this leave hits, as in the real events
BEAM_SPOT_MM = (0.015, 0.015, 50.0)
STEP_MM = 10.0
RADIATION_LENGTHS = {"pixel": 0.02, "short strip": 0.03, "long strip": 0.04}  # per layer crossing
NUCLEAR_PROBABILITY = {"pixel": 0.025, "short strip": 0.035, "long strip": 0.035}
HIT_EFFICIENCY = 0.98
DIFFUSION_MM = 0.006  # charge sharing between neighbouring cells
SECONDARY_P_GEV = 0.35  # mean momentum of the products of nuclear interactions
NOISE_FRACTION = 0.14
DETECTOR_R_MM, DETECTOR_Z_MM = 1030.0, 3000.0
_SUBSYSTEM = {7: "pixel", 8: "pixel", 9: "pixel", 12: "short strip", 13: "short strip", 14: "short strip",
              16: "long strip", 17: "long strip", 18: "long strip"}
_COMMON = ["Beams:eCM = 14000", "Print:quiet = on"]
_CHARGE = {11: -1, 13: -1, 211: 1, 321: 1, 2212: 1, 3112: -1, 3222: 1, 3312: -1, 3334: -1}
_MASS = {11: 0.000511, 13: 0.10566, 211: 0.13957, 321: 0.49368, 2212: 0.93827, 3112: 1.19745, 3222: 1.18937,
         3312: 1.32171, 3334: 1.67245}

HIT_COLUMNS = ["hit_id", "x", "y", "z", "volume_id", "layer_id", "module_id"]
CELL_COLUMNS = ["hit_id", "ch0", "ch1", "value"]
PARTICLE_COLUMNS = ["particle_id", "particle_type", "vx", "vy", "vz", "px", "py", "pz", "q", "nhits"]
TRUTH_COLUMNS = ["hit_id", "particle_id", "tx", "ty", "tz", "tpx", "tpy", "tpz", "weight"]


def charge_of(pdg: np.ndarray) -> np.ndarray:
    """Electric charge of the long-lived charged particles Pythia leaves in the final state."""
    sign = np.sign(pdg)
    return np.array([_CHARGE.get(abs(int(p)), 0) for p in pdg]) * sign


def mass_of(pdg: np.ndarray) -> np.ndarray:
    return np.array([_MASS.get(abs(int(p)), 0.13957) for p in pdg])


# ---------------------------------------------------------------------------------------
# geometry: layers as surfaces, modules for the hits
class Detector:
    def __init__(self, modules: pd.DataFrame):
        self.modules = modules.reset_index(drop=True)
        m = self.modules
        self.centre = m[["cx", "cy", "cz"]].to_numpy()
        self.e_u = m[["rot_xu", "rot_yu", "rot_zu"]].to_numpy()
        self.e_v = m[["rot_xv", "rot_yv", "rot_zv"]].to_numpy()
        self.e_w = m[["rot_xw", "rot_yw", "rot_zw"]].to_numpy()
        self.hv, self.minhu, self.maxhu = (m[k].to_numpy() for k in ("module_hv", "module_minhu", "module_maxhu"))
        self.layers = []
        for (volume, layer), rows in m.groupby(["volume_id", "layer_id"]):
            idx = rows.index.to_numpy()
            r = np.hypot(rows.cx, rows.cy)
            barrel = volume in BARREL_VOLUMES
            self.layers.append({
                "volume_id": volume, "layer_id": layer, "barrel": barrel, "modules": idx,
                "tree": cKDTree(self.centre[idx]), "subsystem": _SUBSYSTEM[volume],
                # the surface a particle crosses: a cylinder (barrel) or a plane z = const (disk)
                "position": float(r.mean()) if barrel else float(rows.cz.mean()),
                "extent": (float((rows.cz.abs() + rows.module_hv).max()) if barrel else
                           (float((r - rows.module_hv).min()), float((r + rows.module_hv).max()))),
            })

        for kind, barrel in (("barrel", True), ("disks", False)):
            layers = [L for L in self.layers if L["barrel"] == barrel]
            setattr(self, kind, {"layers": layers, "position": np.array([L["position"] for L in layers])})

    def half_width(self, modules: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Half-width in u of trapezoidal modules at local v (minhu at v = -hv, maxhu at v = +hv)."""
        hv = self.hv[modules]
        return self.minhu[modules] + (self.maxhu[modules] - self.minhu[modules]) * (v + hv) / (2 * hv)

    def hits_on_layer(self, layer: dict, points: np.ndarray, directions: np.ndarray):
        """The modules a particle crossing ``layer`` at ``points`` (direction ``directions``)
        passes through: (row of the crossing, module index, true position, local u, v)."""
        k = min(4, len(layer["modules"]))
        _, near = layer["tree"].query(points, k=k)
        rows = np.repeat(np.arange(len(points)), k)
        modules = layer["modules"][near.ravel()]
        p, d = points[rows], directions[rows]
        c, w = self.centre[modules], self.e_w[modules]
        denom = np.einsum("ij,ij->i", d, w)
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.einsum("ij,ij->i", c - p, w) / denom
        q = p + t[:, None] * d
        u = np.einsum("ij,ij->i", q - c, self.e_u[modules])
        v = np.einsum("ij,ij->i", q - c, self.e_v[modules])
        inside = np.isfinite(t) & (np.abs(t) < 30) & (np.abs(v) <= self.hv[modules]) & (np.abs(u) <= self.half_width(modules, v))
        return rows[inside], modules[inside], q[inside], u[inside], v[inside]


# ---------------------------------------------------------------------------------------
# propagation
def _highland(p: np.ndarray, beta: np.ndarray, x_over_x0: float) -> np.ndarray:
    return 0.0136 / (beta * p) * np.sqrt(x_over_x0) * (1 + 0.038 * np.log(x_over_x0))


def _scatter(direction: np.ndarray, theta0: np.ndarray, rng) -> np.ndarray:
    """Turn unit vectors by two independent Gaussian angles of width theta0."""
    x, y, z = direction.T
    # a: perpendicular to the direction, in the transverse plane (the x axis for a track along z)
    a = np.column_stack([-y, x, np.zeros_like(x)])
    norm = np.hypot(x, y)
    a = np.where(norm[:, None] > 1e-6, a / np.maximum(norm, 1e-12)[:, None], [[1.0, 0.0, 0.0]])
    b = np.column_stack([y * a[:, 2] - z * a[:, 1], z * a[:, 0] - x * a[:, 2], x * a[:, 1] - y * a[:, 0]])
    kick = rng.normal(size=(len(direction), 2)) * theta0[:, None]
    new = direction + kick[:, :1] * a + kick[:, 1:] * b
    return new / np.linalg.norm(new, axis=1, keepdims=True)


def _cross_layer(detector, layer, i, rows, f, p_old, p_new, m_old, m_new, mass, hadron, alive, hits, interactions, rng):
    """Particles ``i[rows]`` cross ``layer`` a fraction ``f`` into their step: hits on the modules
    they pass through, multiple scattering, nuclear interactions."""
    point = p_old[rows] + f[:, None] * (p_new[rows] - p_old[rows])
    if layer["barrel"]:
        inside = np.abs(point[:, 2]) <= layer["extent"]
    else:
        r = np.hypot(point[:, 0], point[:, 1])
        inside = (r >= layer["extent"][0]) & (r <= layer["extent"][1])
    rows, point, f = rows[inside], point[inside], f[inside]
    if not len(rows):
        return
    p_here = m_old[rows] + f[:, None] * (m_new[rows] - m_old[rows])
    direction = p_here / np.linalg.norm(p_here, axis=1, keepdims=True)
    hit_rows, modules, true_pos, _, _ = detector.hits_on_layer(layer, point, direction)
    keep = rng.random(len(hit_rows)) < HIT_EFFICIENCY
    hits["particle"].append(i[rows[hit_rows[keep]]])
    hits["module"].append(modules[keep])
    hits["position"].append(true_pos[keep])
    hits["momentum"].append(p_here[hit_rows[keep]])
    # material: multiple scattering, and nuclear interactions of hadrons
    p_abs = np.linalg.norm(p_here, axis=1)
    beta = p_abs / np.hypot(p_abs, mass[i[rows]])
    new_dir = _scatter(direction, _highland(p_abs, beta, RADIATION_LENGTHS[layer["subsystem"]]), rng)
    m_new[rows] = new_dir * np.linalg.norm(m_new[rows], axis=1, keepdims=True)
    interact = hadron[i[rows]] & (rng.random(len(rows)) < NUCLEAR_PROBABILITY[layer["subsystem"]])
    if interact.any():
        interactions["particle"].append(i[rows[interact]])
        interactions["position"].append(point[interact])
        interactions["momentum"].append(p_here[interact])
        alive[i[rows[interact]]] = False


def propagate(detector: Detector, vertex: np.ndarray, momentum: np.ndarray, charge: np.ndarray,
              pdg: np.ndarray, rng) -> tuple[dict, dict]:
    """Follow particles through the detector. Returns the crossings that made hits (arrays over
    hits: particle index, module, true position, momentum) and the nuclear interactions (particle
    index, position, momentum), for secondaries."""
    n = len(vertex)
    pos, mom = vertex.astype(float).copy(), momentum.astype(float).copy()
    mass = mass_of(pdg)
    hadron = ~np.isin(np.abs(pdg), (11, 13))
    alive = np.ones(n, bool)
    turned = np.zeros(n)
    kappa = 0.29979 * B_FIELD_T * 1e-3  # GeV per mm of curvature radius: rho[mm] = pT / kappa
    hits = {k: [] for k in ("particle", "module", "position", "momentum")}
    interactions = {k: [] for k in ("particle", "position", "momentum")}
    while alive.any():
        i = np.flatnonzero(alive)
        p_old, m_old = pos[i], mom[i]
        pt = np.hypot(m_old[:, 0], m_old[:, 1])
        ptot = np.linalg.norm(m_old, axis=1)
        ds_t = STEP_MM * pt / ptot
        dphi = -charge[i] * kappa * ds_t / np.maximum(pt, 1e-9)
        phi = np.arctan2(m_old[:, 1], m_old[:, 0])
        chord = np.where(np.abs(dphi) > 1e-9, 2 * np.abs(np.sin(dphi / 2)) * pt / (kappa * np.maximum(np.abs(charge[i]), 1)), ds_t)
        p_new = p_old + np.column_stack([chord * np.cos(phi + dphi / 2), chord * np.sin(phi + dphi / 2),
                                         STEP_MM * m_old[:, 2] / ptot])
        m_new = np.column_stack([pt * np.cos(phi + dphi), pt * np.sin(phi + dphi), m_old[:, 2]])
        turned[i] += np.abs(dphi)
        r_old, r_new = np.hypot(p_old[:, 0], p_old[:, 1]), np.hypot(p_new[:, 0], p_new[:, 1])
        # which surfaces each particle crossed in this step: cylinders in r, disks in z
        for surfaces, a, b in ((detector.barrel, r_old, r_new), (detector.disks, p_old[:, 2], p_new[:, 2])):
            position = surfaces["position"]
            rows_all, cols_all = np.nonzero((a[:, None] - position) * (b[:, None] - position) < 0)
            for col in np.unique(cols_all):
                layer = surfaces["layers"][col]
                rows = rows_all[cols_all == col]
                f = (position[col] - a[rows]) / (b[rows] - a[rows])
                _cross_layer(detector, layer, i, rows, f, p_old, p_new, m_old, m_new, mass, hadron, alive, hits,
                             interactions, rng)
        pos[i], mom[i] = p_new, m_new
        outside = (np.hypot(p_new[:, 0], p_new[:, 1]) > DETECTOR_R_MM) | (np.abs(p_new[:, 2]) > DETECTOR_Z_MM)
        alive[i[outside | (turned[i] > 2 * np.pi)]] = False
    cat = lambda parts, shape: np.concatenate(parts) if parts else np.zeros(shape)
    return ({"particle": cat(hits["particle"], 0).astype(np.int64), "module": cat(hits["module"], 0).astype(np.int64),
             "position": cat(hits["position"], (0, 3)), "momentum": cat(hits["momentum"], (0, 3))},
            {"particle": cat(interactions["particle"], 0).astype(np.int64),
             "position": cat(interactions["position"], (0, 3)), "momentum": cat(interactions["momentum"], (0, 3))})


def _propagate_simulated(detector, position, momentum, charge, pdg, rng):
    """``propagate`` the particles above SIMULATED_PT_MIN; the others are listed without hits, as
    in the real dataset (whose particles from 0.10 to 0.15 GeV have almost no hits)."""
    followed = np.flatnonzero(np.hypot(momentum[:, 0], momentum[:, 1]) > SIMULATED_PT_MIN)
    hits, interactions = propagate(detector, position[followed], momentum[followed], charge[followed],
                                   pdg[followed], rng)
    hits["particle"], interactions["particle"] = followed[hits["particle"]], followed[interactions["particle"]]
    return hits, interactions


def _secondaries(interactions: dict, rng):
    """Charged products of nuclear interactions: 1 to 4 soft pions or protons (momentum drawn
    from an exponential of mean 0.35 GeV, at most half of the incoming one), within about 30
    degrees of the incoming direction."""
    parent, position, momentum = interactions["particle"], interactions["position"], interactions["momentum"]
    n = np.minimum(1 + rng.poisson(1.2, len(parent)), 4)
    rows = np.repeat(np.arange(len(parent)), n)
    p_in = np.linalg.norm(momentum[rows], axis=1) if len(rows) else np.zeros(0)
    p_out = np.minimum(rng.exponential(SECONDARY_P_GEV, len(rows)), 0.5 * p_in)
    direction = _scatter(momentum[rows] / np.maximum(p_in, 1e-9)[:, None], np.full(len(rows), 0.5), rng) if len(rows) else np.zeros((0, 3))
    pdg = np.where(rng.random(len(rows)) < 0.45, 2212, 211) * np.where(rng.random(len(rows)) < 0.5, 1, -1)
    pdg = np.where(np.abs(pdg) == 2212, 2212, pdg)  # knocked-out protons, not antiprotons
    mom = direction * p_out[:, None]
    return parent[rows], position[rows], mom, pdg


# ---------------------------------------------------------------------------------------
# one event
def _collisions(minbias, hard, pileup: int):
    """Final-state charged particles of one bunch crossing: (collision index, pdg, px, py, pz,
    production vertex offset [mm]), collision 0 being the hard scatter."""
    batches = [hard.nextBatch(1), minbias.nextBatch(pileup)] if pileup else [hard.nextBatch(1)]
    prt = ak.concatenate([b.prt for b in batches])
    final = prt[prt.status > 0]
    counts = ak.to_numpy(ak.num(final))
    flat = ak.flatten(final)
    v = flat.vProd
    offset = np.column_stack([ak.to_numpy(ak.fill_none(v[k], 0.0)) for k in ("px", "py", "pz")])
    p = flat.p
    return (np.repeat(np.arange(len(counts)), counts), ak.to_numpy(flat.id),
            np.column_stack([ak.to_numpy(p[k]) for k in ("px", "py", "pz")]), offset)


def _cells(detector: Detector, modules: np.ndarray, u: np.ndarray, v: np.ndarray, slope_u: np.ndarray,
           slope_v: np.ndarray, rng):
    """The cells each hit fires: those its path through the sensor's thickness crosses (sampled
    at nine depths). Returns the measured position (the cells' charge-weighted centre, local u
    and v) of every hit, and the cell table (hit row, ch0, ch1, value)."""
    m = detector.modules
    pu, pv = m.pitch_u.to_numpy()[modules], m.pitch_v.to_numpy()[modules]
    thickness = m.module_t.to_numpy()[modules]
    half_u, hv = m.module_maxhu.to_numpy()[modules], m.module_hv.to_numpy()[modules]
    depth = np.linspace(-0.5, 0.5, 25)
    spread = rng.normal(0, DIFFUSION_MM, (2, len(u), len(depth)))  # charge drifting to neighbours
    # cell indices, kept on the sensor (a path leaving it at an edge fires the edge cell)
    n_u = np.floor(2 * half_u / pu).astype(np.int64)
    n_v = np.floor(2 * hv / pv).astype(np.int64)
    cu = np.clip(np.floor((u[:, None] + (slope_u * thickness)[:, None] * depth + spread[0] + half_u[:, None])
                          / pu[:, None]).astype(np.int64), 0, (n_u - 1)[:, None])
    cv = np.clip(np.floor((v[:, None] + (slope_v * thickness)[:, None] * depth + spread[1] + hv[:, None])
                          / pv[:, None]).astype(np.int64), 0, (n_v - 1)[:, None])
    # unique cells per hit, with the number of depth samples (the charge share) in each
    code = np.sort(cu * 1_000_000 + cv, axis=1)  # cv < 1,000,000: at most 72 mm / 0.056 mm cells
    first = np.ones_like(code, bool)
    first[:, 1:] = code[:, 1:] != code[:, :-1]
    starts = np.flatnonzero(first.ravel())
    share = np.diff(np.append(starts, code.size)) / code.shape[1]
    cell_code, hit_row = code.ravel()[starts], starts // code.shape[1]
    ch0, ch1 = cell_code // 1_000_000, cell_code % 1_000_000
    mu = np.bincount(hit_row, share * (ch0 + 0.5) * pu[hit_row], len(u)) - half_u
    mv = np.bincount(hit_row, share * (ch1 + 0.5) * pv[hit_row], len(u)) - hv
    strips = pv[hit_row] > 0.5  # strips are read out as on/off, pixels measure the charge
    value = np.where(strips, 1.0, share * rng.gamma(4.0, 0.085, len(u))[hit_row])
    return mu, mv, (hit_row, ch0, ch1, value)


def _particle_ids(vertex: np.ndarray, primary: np.ndarray, generation: np.ndarray, secondary: np.ndarray,
                  process: np.ndarray) -> np.ndarray:
    return ((vertex.astype(np.int64) << 52) | (primary.astype(np.int64) << 36) | (generation.astype(np.int64) << 24)
            | (secondary.astype(np.int64) << 12) | process.astype(np.int64))


def simulate_event(detector: Detector, minbias, hard, pileup: int, rng) -> dict[str, pd.DataFrame]:
    """hits, cells, particles and truth tables of one bunch crossing."""
    from hepml.trackml import hit_weights

    collision, pdg, momentum, offset = _collisions(minbias, hard, pileup)
    charge = charge_of(pdg)
    pt = np.hypot(momentum[:, 0], momentum[:, 1])
    eta = np.arcsinh(momentum[:, 2] / np.maximum(pt, 1e-9))
    keep = (charge != 0) & (pt > PT_MIN) & (np.abs(eta) < ETA_MAX)
    collision, pdg, momentum, offset, charge = collision[keep], pdg[keep], momentum[keep], offset[keep], charge[keep]
    vertices = rng.normal(0, BEAM_SPOT_MM, size=(pileup + 1, 3))
    position = vertices[collision] + offset
    # particle ids: vertex numbers 1.. in a random order (the hard scatter is not vertex 1), then
    # the particle's number within its vertex
    vertex_id = rng.permutation(pileup + 1)[collision] + 1
    order = np.lexsort((np.arange(len(collision)), vertex_id))
    primary = np.empty(len(collision), np.int64)
    primary[order] = np.concatenate([np.arange(1, c + 1) for c in np.bincount(vertex_id[order])[1:] if c] or [[]])
    zeros = np.zeros(len(collision), np.int64)
    ids = _particle_ids(vertex_id, primary, zeros, zeros, zeros)

    hits, interactions = _propagate_simulated(detector, position, momentum, charge, pdg, rng)
    all_ids, all_pdg, all_pos, all_mom, all_q = [ids], [pdg], [position], [momentum], [charge]
    hit_tables = [(hits, ids)]
    generation, parent_ids = 1, ids
    used = {}  # secondaries already numbered per primary particle (vertex and primary bits)
    while len(interactions["particle"]) and generation <= 2:  # secondaries, and their own secondaries
        parent, spos, smom, spdg = _secondaries(interactions, rng)
        followed = np.hypot(smom[:, 0], smom[:, 1]) > PT_MIN  # the dataset's threshold, as for primaries
        parent, spos, smom, spdg = parent[followed], spos[followed], smom[followed], spdg[followed]
        if not len(parent):
            break
        sq = charge_of(spdg)
        # ids: the primary's vertex and number, this generation, a number unique within the
        # primary's descendants, process 1 (a hadronic interaction)
        lineage = parent_ids[parent] >> 36
        number = np.empty(len(parent), np.int64)
        for key in np.unique(lineage):
            rows = np.flatnonzero(lineage == key)
            start = used.get(int(key), 0)
            number[rows] = np.arange(start + 1, start + 1 + len(rows))
            used[int(key)] = start + len(rows)
        sids = (lineage << 36) | (np.int64(generation) << 24) | (number << 12) | 1
        shits, interactions = _propagate_simulated(detector, spos, smom, sq, spdg, rng)
        all_ids.append(sids), all_pdg.append(spdg), all_pos.append(spos), all_mom.append(smom), all_q.append(sq)
        hit_tables.append((shits, sids))
        parent_ids, generation = sids, generation + 1

    # hits: true crossings, then the measurement from the fired cells
    particle_id = np.concatenate([t_ids[h["particle"]] for h, t_ids in hit_tables])
    module = np.concatenate([h["module"] for h, _ in hit_tables])
    true_pos = np.concatenate([h["position"] for h, _ in hit_tables])
    true_mom = np.concatenate([h["momentum"] for h, _ in hit_tables])
    direction = true_mom / np.linalg.norm(true_mom, axis=1, keepdims=True)
    e_u, e_v, e_w = detector.e_u[module], detector.e_v[module], detector.e_w[module]
    rel = true_pos - detector.centre[module]
    u, v = np.einsum("ij,ij->i", rel, e_u), np.einsum("ij,ij->i", rel, e_v)
    dw = np.einsum("ij,ij->i", direction, e_w)
    dw = np.where(np.abs(dw) < 1e-3, 1e-3, dw)
    slope_u, slope_v = np.einsum("ij,ij->i", direction, e_u) / dw, np.einsum("ij,ij->i", direction, e_v) / dw

    # noise: uniform over the modules, a point inside the active area
    n_noise = int(round(NOISE_FRACTION / (1 - NOISE_FRACTION) * len(module)))
    noise_module = rng.integers(0, len(detector.modules), n_noise)
    m = detector.modules
    nv = rng.uniform(-1, 1, n_noise) * detector.hv[noise_module]
    nu = rng.uniform(-1, 1, n_noise) * detector.half_width(noise_module, nv)
    all_module = np.concatenate([module, noise_module])
    mu, mv, (cell_hit, ch0, ch1, value) = _cells(detector, all_module, np.concatenate([u, nu]), np.concatenate([v, nv]),
                                                 np.concatenate([slope_u, np.zeros(n_noise)]),
                                                 np.concatenate([slope_v, np.zeros(n_noise)]), rng)
    measured = detector.centre[all_module] + mu[:, None] * detector.e_u[all_module] + mv[:, None] * detector.e_v[all_module]
    noise_pos = measured[len(module):]

    # hit ids in detector order, never in particle order
    order = np.lexsort((measured[:, 2], m.module_id.to_numpy()[all_module], m.layer_id.to_numpy()[all_module],
                        m.volume_id.to_numpy()[all_module]))
    hit_id = np.empty(len(order), np.int64)
    hit_id[order] = np.arange(1, len(order) + 1)
    hits_df = pd.DataFrame({"hit_id": hit_id, "x": measured[:, 0], "y": measured[:, 1], "z": measured[:, 2],
                            "volume_id": m.volume_id.to_numpy()[all_module], "layer_id": m.layer_id.to_numpy()[all_module],
                            "module_id": m.module_id.to_numpy()[all_module]}).sort_values("hit_id", ignore_index=True)
    truth_df = pd.DataFrame({
        "hit_id": hit_id, "particle_id": np.concatenate([particle_id, np.zeros(n_noise, np.int64)]),
        "tx": np.concatenate([true_pos[:, 0], noise_pos[:, 0]]), "ty": np.concatenate([true_pos[:, 1], noise_pos[:, 1]]),
        "tz": np.concatenate([true_pos[:, 2], noise_pos[:, 2]]),
        "tpx": np.concatenate([true_mom[:, 0], np.zeros(n_noise)]), "tpy": np.concatenate([true_mom[:, 1], np.zeros(n_noise)]),
        "tpz": np.concatenate([true_mom[:, 2], np.zeros(n_noise)])}).sort_values("hit_id", ignore_index=True)
    cells_df = pd.DataFrame({"hit_id": hit_id[cell_hit], "ch0": ch0, "ch1": ch1, "value": value}) \
        .sort_values(["hit_id", "ch0", "ch1"], ignore_index=True)
    ids_all = np.concatenate(all_ids)
    mom_all = np.concatenate(all_mom)
    pos_all = np.concatenate(all_pos)
    nhits = pd.Series(particle_id).value_counts()
    particles_df = pd.DataFrame({"particle_id": ids_all, "particle_type": np.concatenate(all_pdg).astype(np.int64),
                                 "vx": pos_all[:, 0], "vy": pos_all[:, 1], "vz": pos_all[:, 2],
                                 "px": mom_all[:, 0], "py": mom_all[:, 1], "pz": mom_all[:, 2],
                                 "q": np.concatenate(all_q).astype(np.int64),
                                 "nhits": nhits.reindex(ids_all).fillna(0).to_numpy(np.int64)})
    particles_df = particles_df.sort_values("particle_id", ignore_index=True)
    truth_df["weight"] = hit_weights(truth_df, particles_df)
    return {"hits": hits_df, "cells": cells_df, "particles": particles_df, "truth": truth_df}


def write_event(directory: Path, event_id: int, tables: dict[str, pd.DataFrame]) -> None:
    """Gzipped CSV files, as the throughput phase's (and the full mode's) events are."""
    prefix = directory / f"event{event_id:09d}"
    formats = {"hits": "%.6g", "cells": "%.6g", "particles": "%.7g", "truth": "%.6g"}
    for name, table in tables.items():
        table.to_csv(f"{prefix}-{name}.csv.gz", index=False, float_format=formats[name],
                     compression={"method": "gzip", "compresslevel": 1, "mtime": 0})


def generate(directory: Path, n_events: int, seed: int, pileup: int = PILEUP, progress: bool = True) -> None:
    """``n_events`` bunch crossings (``pileup`` minimum-bias collisions each) and detectors.csv."""
    from tqdm import tqdm

    directory = Path(directory) / "events"  # the dataset's one member: a directory of event files
    directory.mkdir()
    modules = build()
    modules.to_csv(directory / "detectors.csv", index=False, float_format="%.7g")
    detector = Detector(modules)
    rng = np.random.default_rng(seed)
    minbias = make_pythia(_COMMON + ["SoftQCD:inelastic = on"], seed)
    hard = make_pythia(_COMMON + ["Top:gg2ttbar = on", "Top:qqbar2ttbar = on"], seed + 1)
    for k in tqdm(range(n_events), desc="TrackML events", unit="event", disable=not progress, mininterval=2):
        write_event(directory, FIRST_EVENT + k, simulate_event(detector, minbias, hard, pileup, rng))


RECIPE = SampleRecipe(
    dataset="trackml-2018",
    version=2,
    seed=2018,
    n_events=30,
    summary=f"Pythia 8 ttbar + {PILEUP} pile-up collisions per event through the TrackML detector "
            f"(helices in 2 T, multiple scattering, nuclear interactions, module overlaps, noise)",
    doc=__doc__,
    generate=generate,
)
