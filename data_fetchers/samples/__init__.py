"""Sample generators: small, deterministic stand-ins for each real dataset.

Each dataset has a package here, ``samples/<module>/`` (the registry's ``sample_module``): its
``sample.py`` generates the sample, its ``realism.py`` compares it with the real dataset (see
``data_fetchers.realism``), and any file they need sits beside them. ``_common.py`` holds what
several generators share (a seeded Pythia 8, detector-response helpers).

A generator module defines ``RECIPE = SampleRecipe(...)`` whose ``generate(directory,
n_events, seed)`` writes the dataset's files, with the real file names, tree/table
names, column names and types, into ``directory``. Samples are generated on first use,
written to a temporary directory and renamed into place (so an interrupted run never
leaves a half-written sample), and cached under a key made of the recipe version, the
seed and the number of events.
"""

from __future__ import annotations

import importlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable


from .. import cache
from ..errors import SampleGenerationError


@dataclass(frozen=True)
class SampleRecipe:
    dataset: str
    version: int  # bump whenever the output changes, so old caches are not reused
    seed: int
    n_events: int
    summary: str  # one line for the Data page's table
    doc: str  # the documented recipe (the module docstring)
    generate: Callable[[Path, int, int], None]

    def key(self, n_events: int | None = None, seed: int | None = None) -> str:
        n = self.n_events if n_events is None else n_events
        s = self.seed if seed is None else seed
        return f"sample-v{self.version}-seed{s}-n{n}"


def get_recipe(dataset) -> SampleRecipe:
    module = importlib.import_module(f"{__name__}.{dataset.sample_module}.sample")
    return module.RECIPE


def ensure_sample(dataset, n_events: int | None = None, seed: int | None = None, quiet=False) -> Path:
    """Return the directory holding the sample, generating it once if needed."""
    recipe = get_recipe(dataset)
    n = recipe.n_events if n_events is None else int(n_events)
    s = recipe.seed if seed is None else int(seed)
    relative = Path(dataset.name) / recipe.key(n, s)
    found = cache.find_existing(relative)
    if found is not None:
        return found

    target = cache.writable_root() / relative

    def make(tmp: Path) -> None:
        if not quiet:
            print(f"Generating the {dataset.name} sample once ({n:,} events, seed {s}; {recipe.summary}) "
                  f"into {target} ...", flush=True)
        start = time.perf_counter()
        recipe.generate(tmp, n, s)
        if not quiet:
            print(f"... done in {time.perf_counter() - start:.1f} s.", flush=True)

    # Two notebooks asking at once: the second waits, then finds the finished sample.
    return cache.create_once(
        target, make, directory=True,
        failure=lambda exc: SampleGenerationError(
            f"Generating the {dataset.name} sample failed ({type(exc).__name__}: {exc}); "
            f"nothing was cached, so re-running the cell retries from scratch."))
