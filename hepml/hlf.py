"""The hls4ml LHC jet dataset's high-level features (chapter 6): names and one reader for the
book's sample and the real OpenML file (``dataset_42468.pq``, data id 42468).

Each jet (about 1 TeV, anti-kT R = 0.8) has 16 features and a class: g (gluon), q (light quark),
t (top quark), w and z (W and Z bosons). The ``_mmdt`` features are computed on the jet groomed
by the modified mass-drop tagger (soft drop with beta = 0, z_cut = 0.1): the energy-correlation
ratios C1, C2, D2, M2, N2 with angular exponent beta (``_b1``, ``_b2``), the generalised D2 with
alpha = 1 (``d2_a1_``; with beta = 1 it equals D2) and the groomed mass; ``zlogz`` (sum of
z ln z over the constituents, z their energy fractions) and ``multiplicity`` (the number of
constituents) describe the ungroomed jet.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

FEATURES = ["zlogz", "c1_b0_mmdt", "c1_b1_mmdt", "c1_b2_mmdt", "c2_b1_mmdt", "c2_b2_mmdt", "d2_b1_mmdt",
            "d2_b2_mmdt", "d2_a1_b1_mmdt", "d2_a1_b2_mmdt", "m2_b1_mmdt", "m2_b2_mmdt", "n2_b1_mmdt",
            "n2_b2_mmdt", "mass_mmdt", "multiplicity"]
TARGET = "class"
CLASSES = ["g", "q", "t", "w", "z"]  # the target's categories in the real file (alphabetical)
CLASS_NAMES = {"g": "gluon", "q": "light quark", "t": "top quark", "w": "W boson", "z": "Z boson"}


def read_hlf(path: Path | str, max_jets: int | None = None, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """The features (a DataFrame, float32, in the real order) and the labels (int64 indices into
    ``CLASSES``) of the jets in ``path``; with ``max_jets``, a seeded random subset of that many.

    The file is the Parquet table OpenML serves (or the book's sample in the same format). A file
    without the expected columns or with an unknown class gives a one-sentence error.
    """
    import pyarrow.parquet as pq

    path = Path(path)
    try:
        names = set(pq.read_schema(path).names)
    except Exception as exc:  # pyarrow's own message is long; ours says what to do
        raise ValueError(f"{path} is not a readable Parquet file ({type(exc).__name__}); delete it and fetch it "
                         f"again with data_fetchers.get('hls4ml-lhc-jets-hlf', ...).") from exc
    missing = [c for c in FEATURES + [TARGET] if c not in names]
    if missing:
        raise ValueError(f"{path} lacks the columns {missing}: it is not the hls4ml jet dataset's "
                         f"high-level-feature table (OpenML data id 42468).")
    table = pd.read_parquet(path, columns=FEATURES + [TARGET])
    if max_jets is not None and max_jets < len(table):
        rows = np.sort(np.random.default_rng(seed).choice(len(table), max_jets, replace=False))
        table = table.iloc[rows]
    target = table[TARGET].astype(str)
    unknown = sorted(set(target.unique()) - set(CLASSES))
    if unknown:
        raise ValueError(f"{path} has classes {unknown} besides {CLASSES}.")
    labels = pd.Categorical(target, categories=CLASSES)
    features = table[FEATURES].astype(np.float32).reset_index(drop=True)
    return features, labels.codes.astype(np.int64)
