"""Parametric stand-in for CaloChallenge 2022 dataset 1, photons (Zenodo record 8099322).

The real showers are Geant4 photons in ATLAS's barrel at eta 0.20-0.25, voxelised as in ATLAS's
FastCaloGAN. This sample replaces Geant4 by a parametrised shower, in the GFlash tradition
(Grindhammer & Peters, arXiv:hep-ex/0001020), deposited in the **dataset's own voxels**
(``hepml.calo.load_binning``: the official binning XML, never hand-typed).

**Material** (depth t in radiation lengths X0 along the photon at eta 0.22): 2.0 X0 of dead
material in front (inner detector, solenoid, cryostat), whose deposits are lost; layer 0, the
presampler, records what is deposited in the next 0.5 X0; then the accordion's strips (layer 1,
4.3 X0), middle (layer 2, 16 X0) and back (layer 3, 2 X0); 2 X0 of cryostat (lost); layer 12,
the first tile layer, records the rest. The accordion's layer depths are ATLAS's at small eta;
the dead material and the presampler's window are this sample's choices.

**Longitudinal profile.** The photon converts after an exponential depth (mean 9/7 X0), then
deposits along a Gamma distribution dE/dt ∝ t^(a-1) exp(-b t) with mean depth-of-maximum T =
ln(E/Ec) + 0.5 (photons, Ec = 10 MeV) and a = 1 + 0.5 T; ln T and ln a fluctuate shower by
shower, correlated, with GFlash's widths (Pb: sigma(ln T) = 1/(-1.4 + 1.26 ln y), sigma(ln a)
= 1/(-0.58 + 0.86 ln y), rho = 0.705 - 0.023 ln y, y = E/Ec).

**Lateral profile.** In each layer, GFlash's core + tail: f(r) = p 2 r Rc^2/(r^2 + Rc^2)^2 +
(1 - p) (same with Rt), with Rc, Rt and p functions of the layer's energy-weighted mean depth
tau = t/T (GFlash's lead parameters, Molière radius R_M = 30 mm). The shower axis is offset from
the voxels' origin by a Gaussian (sigma 0.8 mm per axis, shower by shower, shared by all layers).

**Sampling fluctuations.** Each layer's energy is smeared by 10 %/sqrt(E_layer/GeV), all together
by 0.7 % (ATLAS's electromagnetic barrel design resolution); the energy is then split into
"spots" (one per SPOT_MEV of energy, 12 to MAX_SPOTS per layer, with exponential energies) that
land in the voxels: few spots leave voxels empty, as few Geant4 hits do. Where a layer would need
more than MAX_SPOTS, 30 % of its spots sample the tails (log-uniform in radius) with weights
profile / proposal, so that high-energy showers keep filling their outer voxels as real ones do.
Spots outside the outermost ring are lost, as the real voxelisation loses them.

**Incident energies** as in the real files: the 15 energies 2^8 ... 2^22 MeV, 10,000 showers
each up to 262 GeV, then 5,000, 3,000, 2,000 and 1,000 (the challenge's ``Dataset_creation.ipynb``,
github.com/CaloChallenge/homepage: ATLAS's training statistics), scaled to the sample's size.

**Format**, as the real files: ``dataset_1_photons_1.hdf5`` (training) and
``dataset_1_photons_2.hdf5`` (evaluation), each with ``incident_energies`` (N, 1) and ``showers``
(N, 368), float64 (as the challenge's creation notebook writes them), MeV, rows shuffled.
``n_events`` is the number of showers per file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import SampleRecipe

FILENAMES = ["dataset_1_photons_1.hdf5", "dataset_1_photons_2.hdf5"]
DTYPE = np.float64

# Depth windows in X0: (start, stop) per recorded layer; deposits elsewhere are lost
UPSTREAM_X0 = 2.0
LAYER_DEPTHS = {0: (2.0, 2.5), 1: (2.5, 6.8), 2: (6.8, 22.8), 3: (22.8, 24.8), 12: (26.8, np.inf)}
CRITICAL_ENERGY_MEV = 10.0
CONVERSION_LENGTH_X0 = 9 / 7
Z_EFFECTIVE = 82.0  # GFlash's lead parameters
MOLIERE_MM = 30.0
AXIS_OFFSET_MM = 0.8
STOCHASTIC = 0.10  # sampling term, relative resolution times sqrt(E/GeV)
CONSTANT = 0.007
SPOT_MEV = 2.0
MIN_SPOTS, MAX_SPOTS = 12, 3000
TAIL_PROPOSAL, TAIL_MIN_MM = 0.3, 1.0  # above MAX_SPOTS: share of tail-sampling spots, their smallest radius
BATCH = 500  # showers per vectorised step; part of the recipe (the random stream depends on it)


def _longitudinal(energy_mev: np.ndarray, rng) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per shower: conversion depth, Gamma shape a and rate b (GFlash's correlated fluctuations)."""
    ln_y = np.log(energy_mev / CRITICAL_ENERGY_MEV)
    t_max = ln_y + 0.5
    alpha = 1 + 0.5 * t_max
    sigma_t = 1 / (-1.4 + 1.26 * ln_y)
    sigma_a = 1 / (-0.58 + 0.86 * ln_y)
    rho = np.clip(0.705 - 0.023 * ln_y, -1, 1)
    z1, z2 = rng.standard_normal((2, len(energy_mev)))
    ln_t = np.log(t_max) + sigma_t * z1
    ln_a = np.log(alpha) + sigma_a * (rho * z1 + np.sqrt(1 - rho ** 2) * z2)
    a = np.maximum(np.exp(ln_a), 1.05)
    b = (a - 1) / np.exp(ln_t)  # the maximum of t^(a-1) e^(-bt) is at (a-1)/b = T
    start = rng.exponential(CONVERSION_LENGTH_X0, len(energy_mev))
    return start, a, b


def _layer_shares(start, a, b) -> tuple[dict[int, np.ndarray], dict[int, np.ndarray]]:
    """Per layer: the fraction of the energy deposited in its depth window, and the energy-weighted
    mean depth (in units of the shower's depth of maximum) there."""
    from scipy.special import gammainc

    shares, tau = {}, {}
    t_max = (a - 1) / b
    for layer, (lo, hi) in LAYER_DEPTHS.items():
        u_lo = np.clip(lo - start, 0, None) * b
        u_hi = np.clip(hi - start, 0, None) * b if np.isfinite(hi) else np.full_like(b, np.inf)
        p0 = gammainc(a, u_hi) - gammainc(a, u_lo)
        p1 = gammainc(a + 1, u_hi) - gammainc(a + 1, u_lo)
        shares[layer] = p0
        mean_depth = np.where(p0 > 1e-12, (a / b) * p1 / np.maximum(p0, 1e-300), (lo + min(hi, lo + 5)) / 2 - start)
        tau[layer] = np.clip(mean_depth, 0.05, None) / t_max
    return shares, tau


def _lateral(tau: np.ndarray, energy_gev: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """GFlash's core radius, tail radius (mm) and core probability at relative depth tau."""
    z = Z_EFFECTIVE
    ln_e = np.log(energy_gev)
    r_core = (0.0251 + 0.00319 * ln_e + (0.1162 - 0.000381 * z) * tau) * MOLIERE_MM
    k1, k2, k3, k4 = 0.659 - 0.00309 * z, 0.645, -2.59, 0.3585 + 0.0421 * ln_e
    r_tail = k1 * (np.exp(k3 * (tau - k2)) + np.exp(k4 * (tau - k2))) * MOLIERE_MM
    p1, p2, p3 = 2.632 - 0.00094 * z, 0.401 + 0.00187 * z, 1.313 - 0.0686 * ln_e
    arg = (p2 - tau) / p3
    return r_core, r_tail, np.clip(p1 * np.exp(arg - np.exp(arg)), 0, 1)


def simulate(energies_mev: np.ndarray, binning, rng) -> np.ndarray:
    """Showers (N, voxels) in MeV for photons of the given incident energies."""
    n = len(energies_mev)
    out = np.zeros((n, binning.total), dtype=DTYPE)
    start, a, b = _longitudinal(energies_mev, rng)
    shares, tau = _layer_shares(start, a, b)
    offset = rng.normal(0, AXIS_OFFSET_MM, (n, 2))
    constant = 1 + CONSTANT * rng.standard_normal(n)
    for layer in binning.layers:
        true_e = energies_mev * shares[layer]
        smear = STOCHASTIC * np.sqrt(1e3 / np.maximum(true_e, 1e-3))
        e_layer = np.clip(true_e * (1 + smear * rng.standard_normal(n)) * constant, 0, None)
        n_spots = np.where(e_layer > 0, np.clip(np.round(e_layer / SPOT_MEV), MIN_SPOTS, MAX_SPOTS), 0).astype(int)
        shower = np.repeat(np.arange(n), n_spots)
        r_core, r_tail, p_core = _lateral(tau[layer], energies_mev / 1e3)
        radius = np.where(rng.random(len(shower)) < p_core[shower], r_core[shower], r_tail[shower])
        u = rng.random(len(shower))
        r = radius * np.sqrt(u / (1 - u))  # inverts F(r) = r^2 / (r^2 + R^2)
        # Capped layers: a share of the spots samples the tails (log-uniform in r), weighted by
        # profile / proposal, so that the outer voxels get their expected energy instead of none
        r_max = binning.r_edges[layer][-1]
        q = np.where(e_layer / SPOT_MEV > MAX_SPOTS, TAIL_PROPOSAL, 0.0)[shower]
        from_tail = rng.random(len(shower)) < q
        r = np.where(from_tail, np.exp(rng.uniform(np.log(TAIL_MIN_MM), np.log(r_max), len(shower))), r)
        profile = sum(w * 2 * r * big ** 2 / (r ** 2 + big ** 2) ** 2
                      for w, big in ((p_core[shower], r_core[shower]), (1 - p_core[shower], r_tail[shower])))
        proposal = np.where((r >= TAIL_MIN_MM) & (r <= r_max), 1 / (r * np.log(r_max / TAIL_MIN_MM)), 0.0)
        weight = profile / ((1 - q) * profile + q * proposal)
        spot_e = rng.exponential(1.0, len(shower)) * weight
        spot_e *= (e_layer / np.maximum(np.bincount(shower, spot_e, minlength=n), 1e-300))[shower]
        phi = rng.uniform(-np.pi, np.pi, len(shower))
        x = r * np.cos(phi) + offset[shower, 0]
        y = r * np.sin(phi) + offset[shower, 1]
        r, alpha = np.hypot(x, y), np.arctan2(y, x)
        edges = np.asarray(binning.r_edges[layer])
        i_r = np.searchsorted(edges, r, side="right") - 1
        n_alpha = binning.n_alpha[layer]
        i_alpha = np.clip(((alpha + np.pi) / (2 * np.pi) * n_alpha).astype(int), 0, n_alpha - 1)
        inside = i_r < len(edges) - 1  # spots beyond the outermost ring are lost
        flat = shower[inside] * binning.total + binning.voxel_index(layer, i_alpha[inside], i_r[inside])
        out += np.bincount(flat, spot_e[inside], minlength=n * binning.total).reshape(n, binning.total)
    return out


# Showers per incident energy in the real files (121,000 in each)
REAL_COUNTS = (10_000,) * 11 + (5_000, 3_000, 2_000, 1_000)


def incident_energies(n_showers: int, rng) -> np.ndarray:
    """The 15 energies in the real files' proportions (largest remainders), shuffled."""
    from hepml.calo import INCIDENT_ENERGIES_MEV

    quota = n_showers * np.asarray(REAL_COUNTS) / sum(REAL_COUNTS)
    counts = np.floor(quota).astype(int)
    counts[np.argsort(counts - quota)[: n_showers - counts.sum()]] += 1
    return rng.permutation(np.repeat(INCIDENT_ENERGIES_MEV, counts))


def write_file(path: Path, energies: np.ndarray, showers: np.ndarray) -> None:
    import h5py

    with h5py.File(path, "w") as f:
        f.create_dataset("incident_energies", data=energies.reshape(-1, 1).astype(DTYPE))
        f.create_dataset("showers", data=showers.astype(DTYPE), compression="gzip", compression_opts=1)


def generate(directory: Path, n_events: int, seed: int) -> None:
    """Two files of ``n_events`` showers each (training, evaluation), from independent streams."""
    from tqdm import tqdm

    from hepml.calo import load_binning

    binning = load_binning("photon")
    with tqdm(total=2 * n_events, unit="shower", desc="photon showers", mininterval=2) as bar:
        for k, filename in enumerate(FILENAMES):
            rng = np.random.default_rng([seed, k])
            energies = incident_energies(n_events, rng)
            showers = np.empty((n_events, binning.total), dtype=DTYPE)
            for i in range(0, n_events, BATCH):
                showers[i:i + BATCH] = simulate(energies[i:i + BATCH], binning, rng)
                bar.update(len(energies[i:i + BATCH]))
            write_file(Path(directory) / filename, energies, showers)


RECIPE = SampleRecipe(
    dataset="calochallenge-2022-ds1",
    version=2,
    seed=2022,
    n_events=15_000,
    summary="parametrised photon showers (GFlash-style profiles, sampling fluctuations) in the dataset's 368 voxels",
    doc=__doc__,
    generate=generate,
)
