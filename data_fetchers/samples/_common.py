"""Pieces shared by the sample generators: a seeded Pythia 8 and the detector-response helpers."""

from __future__ import annotations

import awkward as ak
import numpy as np


def make_pythia(settings: list[str], seed: int):
    """An initialised, seeded, quiet Pythia 8 (pythia8mc) with these settings.

    Raises a RuntimeError naming the setting Pythia rejects, rather than generating events
    with a silently ignored switch.
    """
    import pythia8mc  # imported here so that importing data_fetchers stays light

    pythia = pythia8mc.Pythia("", False)  # no banner
    for line in settings + ["Random:setSeed = on", f"Random:seed = {seed}"]:
        if not pythia.readString(line):
            raise RuntimeError(f"Pythia rejected the setting {line!r}")
    if not pythia.init():
        raise RuntimeError("Pythia failed to initialise; see the messages above")
    return pythia


def resolution_factors(rel_sigma: np.ndarray, rng: np.random.Generator, floor: float = 0.05) -> np.ndarray:
    """One Gaussian response factor 1 + N(0, rel_sigma) per object, clipped below at ``floor``."""
    return np.clip(1 + rng.normal(0, 1, len(rel_sigma)) * rel_sigma, floor, None)


def smear(objects: ak.Array, rel_sigma, rng: np.random.Generator) -> ak.Array:
    """Scale each four-vector by 1 + N(0, rel_sigma), clipped at 0.05.

    ``rel_sigma`` is a number or a function of the flattened objects (e.g. of their energy).
    """
    flat = ak.flatten(objects)
    sigma = rel_sigma(flat) if callable(rel_sigma) else np.full(len(flat), rel_sigma)
    factor = resolution_factors(ak.to_numpy(sigma), rng)
    smeared = ak.zip({"px": flat.px * factor, "py": flat.py * factor, "pz": flat.pz * factor, "E": flat.E * factor},
                     with_name="Momentum4D")
    return ak.unflatten(smeared, ak.num(objects))


def keep_with_efficiency(objects: ak.Array, efficiency: float, rng: np.random.Generator) -> ak.Array:
    """Keep each object with the given probability (a reconstruction efficiency)."""
    counts = ak.num(objects)
    return objects[ak.unflatten(rng.random(int(ak.sum(counts))) < efficiency, counts)]


def calorimeter_jets(visible: ak.Array, radius: float, rng: np.random.Generator) -> ak.Array:
    """Anti-kT jets (fastjet) of the visible particles, with an energy resolution of
    100 %/sqrt(E/GeV) (+) 5 % applied; no pT or eta cut, no ordering."""
    import fastjet

    cluster = fastjet.ClusterSequence(ak.zip({k: visible[k] for k in ("px", "py", "pz", "E")}),
                                      fastjet.JetDefinition(fastjet.antikt_algorithm, radius))
    jets = ak.zip(dict(zip(["px", "py", "pz", "E"], ak.unzip(cluster.inclusive_jets()))), with_name="Momentum4D")
    return smear(jets, lambda j: np.sqrt(1 / np.maximum(ak.to_numpy(j.E), 1) + 0.05 ** 2), rng)
