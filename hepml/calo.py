"""CaloChallenge 2022 dataset 1: the voxel geometry, the files and the high-level features.

The geometry is the challenge's official binning XML (``binning_dataset_1_photons.xml``): in each
calorimeter layer, rings between radial edges (mm, around the particle's extrapolated impact
point in that layer) split into ``n_alpha`` equal angular bins. A shower is a flat vector whose
voxels run layer by layer, and within a layer angle-major: ``index = offset[layer] + i_alpha *
n_r + i_r`` (the challenge's ``XMLHandler``). The XML's numbers are kept in
``calochallenge_binning.json``, written from the XML by ``python -m hepml.calo XML...`` (nothing
typed by hand; a test compares them with the official files).

The high-level features follow the challenge's ``HighLevelFeatures.py`` (github.com/CaloChallenge/
homepage, ``code/``): energy per layer; in layers binned in angle, the centre of energy and the
width along the two axes the challenge calls "eta" and "phi", which are the voxel centres'
``x = r cos(alpha)`` and ``y = r sin(alpha)`` in mm; the sparsity (fraction of voxels at or
below a threshold) per layer.
"""

from __future__ import annotations

import json
import math
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

BINNING_FILE = Path(__file__).with_name("calochallenge_binning.json")
# The 15 incident energies of dataset 1: 2^8 ... 2^22 MeV (256 MeV to 4.2 TeV)
INCIDENT_ENERGIES_MEV = 2.0 ** np.arange(8, 23)
# The challenge's evaluation sets voxels below 1 MeV to zero for dataset 1 (its ``min_energy``)
EVALUATION_THRESHOLD_MEV = 1.0


@dataclass(frozen=True)
class Binning:
    """The voxelisation of one particle's showers: per layer id, its radial edges and angular bins."""

    particle: str
    r_edges: dict[int, tuple[float, ...]]  # only layers that carry voxels, in the showers' order
    n_alpha: dict[int, int]

    @property
    def layers(self) -> list[int]:
        return list(self.r_edges)

    def n_r(self, layer: int) -> int:
        return len(self.r_edges[layer]) - 1

    def n_voxels(self, layer: int) -> int:
        return self.n_r(layer) * self.n_alpha[layer]

    @property
    def layers_binned_in_alpha(self) -> list[int]:
        return [layer for layer in self.layers if self.n_alpha[layer] > 1]

    @cached_property
    def offsets(self) -> dict[int, int]:
        """The index of each layer's first voxel."""
        out, start = {}, 0
        for layer in self.layers:
            out[layer] = start
            start += self.n_voxels(layer)
        return out

    @property
    def total(self) -> int:
        return sum(self.n_voxels(layer) for layer in self.layers)

    def layer_slice(self, layer: int) -> slice:
        return slice(self.offsets[layer], self.offsets[layer] + self.n_voxels(layer))

    @cached_property
    def voxels(self) -> pd.DataFrame:
        """One row per voxel, in the showers' order: layer, i_alpha, i_r, the bin's edges in r (mm)
        and alpha (rad), its centre (r_mid, alpha_mid) and the challenge's "eta"/"phi" axes
        x = r_mid cos(alpha_mid), y = r_mid sin(alpha_mid) in mm."""
        rows = []
        for layer in self.layers:
            edges = np.asarray(self.r_edges[layer])
            alpha_edges = np.linspace(-math.pi, math.pi, self.n_alpha[layer] + 1)
            for i_alpha in range(self.n_alpha[layer]):
                for i_r in range(self.n_r(layer)):
                    rows.append((layer, i_alpha, i_r, edges[i_r], edges[i_r + 1],
                                 alpha_edges[i_alpha], alpha_edges[i_alpha + 1]))
        table = pd.DataFrame(rows, columns=["layer", "i_alpha", "i_r", "r_low", "r_high", "alpha_low", "alpha_high"])
        table["r_mid"] = (table.r_low + table.r_high) / 2
        table["alpha_mid"] = (table.alpha_low + table.alpha_high) / 2
        table["x"] = table.r_mid * np.cos(table.alpha_mid)
        table["y"] = table.r_mid * np.sin(table.alpha_mid)
        return table

    def voxel_index(self, layer: int, i_alpha, i_r):
        """The flat index of voxel (i_alpha, i_r) of ``layer``."""
        return self.offsets[layer] + np.asarray(i_alpha) * self.n_r(layer) + np.asarray(i_r)

    def to_json(self) -> dict:
        return {"particle": self.particle, "layers": [
            {"id": layer, "r_edges": list(self.r_edges[layer]), "n_alpha": self.n_alpha[layer]} for layer in self.layers]}


def read_binning_xml(path) -> Binning:
    """The official binning XML: layers with a single radial edge carry no voxels and are skipped."""
    root = ET.parse(path).getroot()
    (particle,) = list(root)
    r_edges, n_alpha = {}, {}
    for layer in particle:
        edges = tuple(float(v) for v in layer.attrib["r_edges"].split(","))
        if len(edges) > 1:
            r_edges[int(layer.attrib["id"])] = edges
            n_alpha[int(layer.attrib["id"])] = int(layer.attrib["n_bin_alpha"])
    return Binning(particle.attrib["name"], r_edges, n_alpha)


def load_binning(particle: str = "photon") -> Binning:
    """The committed copy of the official binning of dataset 1 for ``particle`` (photon or pion)."""
    stored = json.loads(BINNING_FILE.read_text())
    if particle not in stored:
        raise ValueError(f"No binning for {particle!r}; the dataset has {sorted(stored)}.")
    layers = stored[particle]["layers"]
    return Binning(particle, {d["id"]: tuple(d["r_edges"]) for d in layers}, {d["id"]: d["n_alpha"] for d in layers})


# ---------------------------------------------------------------------------------------------
# Files

def read_showers(path, max_showers: int | None = None, seed: int = 0, block: int = 20_000):
    """``(incident_energies (N,), showers (N, voxels))`` in MeV from a dataset-1 HDF5 file.

    With ``max_showers``, a uniform random subset of that many showers (seeded), read block by
    block so that memory holds the subset and one block, never the whole file (the real files
    are shuffled, but a random subset does not depend on it).
    """
    import h5py

    with h5py.File(path, "r") as f:
        energies, showers = f["incident_energies"], f["showers"]
        n = len(energies)
        if len(showers) != n:
            raise ValueError(f"{path}: {len(showers)} showers but {n} incident energies.")
        if max_showers is None or max_showers >= n:
            return energies[:, 0].astype(np.float64), showers[:].astype(np.float32)
        keep = np.sort(np.random.default_rng(seed).choice(n, size=int(max_showers), replace=False))
        e_out, s_out = [], []
        for start in range(0, n, block):
            rows = keep[(keep >= start) & (keep < start + block)] - start
            if len(rows):
                e_out.append(energies[start:start + block, 0][rows])
                s_out.append(showers[start:start + block][rows].astype(np.float32))
        return np.concatenate(e_out).astype(np.float64), np.concatenate(s_out)


# ---------------------------------------------------------------------------------------------
# High-level features (the challenge's definitions)

def _weighted_mean_and_width(coordinate: np.ndarray, energy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    total = energy.sum(axis=1) + 1e-16  # the challenge's guard: empty layers give 0, not NaN
    mean = (energy * coordinate).sum(axis=1) / total
    second = (energy * coordinate ** 2).sum(axis=1) / total
    return mean, np.sqrt(np.clip(second - mean ** 2, 0, None))


def high_level_features(showers: np.ndarray, incident_energies: np.ndarray, binning: Binning,
                        threshold: float = 0.0) -> pd.DataFrame:
    """One row per shower: ``E_ratio`` (total / incident energy), ``E_tot`` and per layer ``E_<l>``
    (MeV), ``sparsity_<l>`` (fraction of the layer's voxels at or below ``threshold`` MeV), the
    radial centre of energy and width ``EC_r_<l>``, ``width_r_<l>`` (mm) and, for
    layers binned in angle, ``EC_eta_<l>``, ``EC_phi_<l>`` (centres of energy, mm) and
    ``width_eta_<l>``, ``width_phi_<l>`` (energy-weighted standard deviations, mm)."""
    showers = np.asarray(showers)
    voxels = binning.voxels
    features = {"E_tot": showers.sum(axis=1)}
    features["E_ratio"] = features["E_tot"] / np.asarray(incident_energies).reshape(-1)
    for layer in binning.layers:
        part = showers[:, binning.layer_slice(layer)]
        features[f"E_{layer}"] = part.sum(axis=1)
        features[f"sparsity_{layer}"] = 1.0 - (part > threshold).mean(axis=1)
        r_mid = voxels.r_mid[voxels.layer == layer].to_numpy()[None, :]
        features[f"EC_r_{layer}"], features[f"width_r_{layer}"] = _weighted_mean_and_width(r_mid, part)
    for layer in binning.layers_binned_in_alpha:
        part = showers[:, binning.layer_slice(layer)]
        in_layer = voxels[voxels.layer == layer]
        for axis, column in (("eta", "x"), ("phi", "y")):
            mean, width = _weighted_mean_and_width(in_layer[column].to_numpy()[None, :], part)
            features[f"EC_{axis}_{layer}"] = mean
            features[f"width_{axis}_{layer}"] = width
    return pd.DataFrame(features)


def layer_fractions(showers: np.ndarray, binning: Binning) -> np.ndarray:
    """(N, layers): each layer's share of the shower's total energy (0 for an empty shower)."""
    per_layer = np.stack([showers[:, binning.layer_slice(layer)].sum(axis=1) for layer in binning.layers], axis=1)
    total = per_layer.sum(axis=1, keepdims=True)
    return np.divide(per_layer, total, out=np.zeros_like(per_layer, dtype=float), where=total > 0)


def separation_power(reference: np.ndarray, generated: np.ndarray, bins) -> float:
    """The challenge's separation power of two histograms, each normalised to unit area:
    ½ Σ (h1 − h2)² / (h1 + h2) over bins with entries; 0 for identical, 1 for disjoint."""
    h1, _ = np.histogram(reference, bins=bins)
    h2, _ = np.histogram(generated, bins=bins)
    h1 = h1 / max(h1.sum(), 1)
    h2 = h2 / max(h2.sum(), 1)
    filled = (h1 + h2) > 0
    return float(0.5 * np.sum((h1[filled] - h2[filled]) ** 2 / (h1[filled] + h2[filled])))


def _write_binning_json(xml_paths: list[str]) -> None:
    stored = {}
    for path in xml_paths:
        binning = read_binning_xml(path)
        stored[binning.particle] = binning.to_json()
    BINNING_FILE.write_text(json.dumps(stored, indent=1) + "\n")
    print(f"wrote {BINNING_FILE} ({', '.join(f'{p}: {load_binning(p).total} voxels' for p in stored)})")


if __name__ == "__main__":  # python -m hepml.calo path/to/binning_dataset_1_photons.xml [..._pions.xml]
    _write_binning_json(sys.argv[1:])
