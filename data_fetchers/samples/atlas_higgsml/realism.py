"""The realism table of the `atlas-higgsml-2014` sample: what lesson 1.2's cut-based baseline and BDTs rest on: how
often the tau-pair mass exists and how well it measures the Higgs mass; the background's jet multiplicity.

``python -m data_fetchers realism atlas-higgsml-2014`` measures it on the sample and on real data; the
machinery (the ``Figure`` record, the table, the command) is ``data_fetchers.realism``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from data_fetchers.realism import Figure, Realism


_HIGGSML_REAL = "atlas-higgsml-2014/atlas-higgs-challenge-2014-v2_first10000rows.csv.gz"


def _weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    order = np.argsort(values)
    cumulative = np.cumsum(weights[order])
    return float(values[order][np.searchsorted(cumulative, 0.5 * cumulative[-1])])


def _higgsml_figures(df: pd.DataFrame, scale_to_full: float) -> dict[str, float]:
    """Figures of a HiggsML table (``Label`` 1 for signal); weighted figures use ``Weight``, the
    physical weight; ``scale_to_full`` turns the rows' signal weight sum into the full file's."""
    w = df.Weight.to_numpy(np.float64)
    signal = (df.Label == 1).to_numpy()
    background = ~signal
    mmc = df.DER_mass_MMC.to_numpy(np.float64)
    undefined = mmc == -999.0
    q16, q50, q84 = np.percentile(mmc[signal & ~undefined], [16, 50, 84])
    figures = {
        "MMC undefined, background (weighted share)": float(w[background & undefined].sum() / w[background].sum()),
        "MMC undefined, signal (weighted share)": float(w[signal & undefined].sum() / w[signal].sum()),
        "signal MMC: median [GeV]": float(q50),
        "signal MMC: 16-84 % range [GeV]": float(q84 - q16),
        "background MMC: weighted median [GeV]": _weighted_median(mmc[background & ~undefined], w[background & ~undefined]),
    }
    jets = df.PRI_jet_num.to_numpy()
    for n in range(4):
        figures[f"background with {n}{'+' if n == 3 else ''} jets (weighted share)"] = float(
            w[background & (jets == n)].sum() / w[background].sum())
    figures["signal tau pT: median [GeV]"] = float(np.median(df.PRI_tau_pt[signal]))
    figures["background tau pT: weighted median [GeV]"] = _weighted_median(df.PRI_tau_pt.to_numpy(np.float64)[background], w[background])
    figures["signal missing ET: median [GeV]"] = float(np.median(df.PRI_met[signal]))
    figures["signal: sum of weights (full file)"] = float(w[signal].sum() * scale_to_full)
    return figures


def _higgsml_sample(path: Path) -> dict[str, float]:
    import uproot

    return _higgsml_figures(uproot.open(path)["higgsml"].arrays(library="pd"), 1.0)


def _higgsml_real(shared: Path) -> dict[str, float]:
    df = pd.read_csv(shared / _HIGGSML_REAL)
    df["Label"] = (df.Label == "s").astype(int)
    # the rows are the file's first 10,000 of 818,238, in no particular order of process
    return _higgsml_figures(df, 818_238 / len(df))


REALISM = Realism(
    figures=[
        Figure("MMC undefined, background (weighted share)", 0.06),
        Figure("MMC undefined, signal (weighted share)", 0.02),
        Figure("signal MMC: median [GeV]", 8.0, fmt="{:.1f}"),
        Figure("signal MMC: 16-84 % range [GeV]", 0.2, relative=True, fmt="{:.1f}"),
        Figure("background MMC: weighted median [GeV]", 12.0, fmt="{:.1f}"),
        *[Figure(f"background with {n}{'+' if n == 3 else ''} jets (weighted share)", 0.04) for n in range(4)],
        Figure("signal tau pT: median [GeV]", 5.0, fmt="{:.1f}"),
        Figure("background tau pT: weighted median [GeV]", 4.0, fmt="{:.1f}"),
        Figure("signal missing ET: median [GeV]", 6.0, fmt="{:.1f}"),
        Figure("signal: sum of weights (full file)", 0.2, relative=True, fmt="{:.0f}"),
    ],
    measure_sample=_higgsml_sample,
    measure_real=_higgsml_real,
    real_source=(
        "the first 10,000 rows of the real challenge file (record 328) in ../shared/data, with their physical "
        "weights (`Weight`); the full file's signal weight sum is the rows' times 818,238 / 10,000. Tolerances are "
        "modelling tolerances (several times the rows' statistical precision): what the lesson's cut window and "
        "BDT comparison need. The unweighted share of rows with an undefined MMC (real 15 %) is not a physics "
        "figure: it depends on how many events of each process each simulation holds"),
    leaves_out=(
        "ATLAS's MMC itself (the stand-in scans the neutrinos without the tau decays' angular likelihood), "
        "multiparton W + jets and Z + jets matrix elements, pile-up, trigger and charge requirements, and the real "
        "process cross-sections: the background's weight sum is about 1.8 times the real file's (745,000 against "
        "411,000), so the sample's AMS values are lower than the challenge's, and its transverse mass is softer "
        "(weighted median 56 against 68 GeV); ttbar gives too many 3-jet events"),
)
