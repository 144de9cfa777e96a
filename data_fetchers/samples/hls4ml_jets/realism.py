"""The realism table of the `hls4ml-lhc-jets-hlf` sample: what chapter 6's quantisation lessons rest on: how separable
the five classes are (the benchmark MLP against its published scores) and the features they plot.

``python -m data_fetchers realism hls4ml-lhc-jets-hlf`` measures it on the sample and on real data; the
machinery (the ``Figure`` record, the table, the command) is ``data_fetchers.realism``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from data_fetchers.realism import Figure, Realism


_HLF_CLASS_NAMES = {"g": "gluon", "q": "quark", "t": "top", "w": "W", "z": "Z"}


def _hlf_mlp_scores(features: np.ndarray, labels: np.ndarray) -> tuple[float, list[float]]:
    """Test accuracy and one-vs-rest AUCs of the benchmark MLP (16-64-32-32-5, ReLU, Adam), trained
    on the hls4ml tutorial's split (test_size = 0.2, random_state = 42, standardised inputs).
    scikit-learn's MLPClassifier, not the lesson's own training: an independent measurement."""
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier
    from sklearn.preprocessing import StandardScaler

    x_train, x_test, y_train, y_test = train_test_split(features, labels, test_size=0.2, random_state=42)
    scaler = StandardScaler().fit(x_train)
    mlp = MLPClassifier((64, 32, 32), batch_size=1024, learning_rate_init=3e-3, max_iter=200, early_stopping=True,
                        n_iter_no_change=10, random_state=42).fit(scaler.transform(x_train), y_train)
    scores = mlp.predict_proba(scaler.transform(x_test))
    accuracy = float((scores.argmax(1) == y_test).mean())
    return accuracy, [float(roc_auc_score(y_test == k, scores[:, k])) for k in range(scores.shape[1])]


def _hlf_sample(path: Path) -> dict[str, float]:
    from hepml.hlf import CLASSES, read_hlf

    features, labels = read_hlf(path)
    figures = {}
    accuracy, aucs = _hlf_mlp_scores(features.to_numpy(), labels)
    figures["float MLP 16-64-32-32-5: test accuracy"] = accuracy
    for label, auc in zip(CLASSES, aucs):
        figures[f"float MLP: AUC, {_HLF_CLASS_NAMES[label]} jets against the rest"] = auc
    same = np.isclose(features.d2_b1_mmdt, features.d2_a1_b1_mmdt, rtol=1e-6, atol=0)
    figures["d2_a1_b1_mmdt equal to d2_b1_mmdt, share of jets"] = float(same.mean())
    for k, label in enumerate(CLASSES):
        jets = features[labels == k]
        name = _HLF_CLASS_NAMES[label]
        figures[f"{name} jets: median mass_mmdt [GeV]"] = float(jets.mass_mmdt.median())
        figures[f"{name} jets: groomed mass below 40 GeV, share"] = float((jets.mass_mmdt < 40).mean())
        figures[f"{name} jets: mean multiplicity"] = float(jets.multiplicity.mean())
        figures[f"{name} jets: median n2_b1_mmdt"] = float(jets.n2_b1_mmdt.median())
        figures[f"{name} jets: median d2_b1_mmdt"] = float(jets.d2_b1_mmdt.median())
    return figures


_HLF_PUBLISHED = {
    # the benchmark MLP on the real 830,000 jets, same split: fastml-science jet-classify's float baseline
    # (README and its committed ROC figure; the hls4ml tutorial's part 1 gives 0.764 accuracy)
    "float MLP 16-64-32-32-5: test accuracy": 0.766,
    "float MLP: AUC, gluon jets against the rest": 0.942,
    "float MLP: AUC, quark jets against the rest": 0.905,
    "float MLP: AUC, top jets against the rest": 0.964,
    "float MLP: AUC, W jets against the rest": 0.955,
    "float MLP: AUC, Z jets against the rest": 0.950,
    # the five real rows the hls4ml tutorial prints, and the definitions (D2 with alpha = beta = 1 is D2)
    "d2_a1_b1_mmdt equal to d2_b1_mmdt, share of jets": 1.0,
}
REALISM = Realism(
    figures=[Figure("float MLP 16-64-32-32-5: test accuracy", 0.04, trained=True)]
    + [Figure(f"float MLP: AUC, {name} jets against the rest", 0.04, trained=True) for name in _HLF_CLASS_NAMES.values()]
    + [Figure("d2_a1_b1_mmdt equal to d2_b1_mmdt, share of jets", 0.0)]
    + [Figure(f"{name} jets: {what}", 0, checked=False, fmt=fmt) for name in _HLF_CLASS_NAMES.values()
       for what, fmt in (("median mass_mmdt [GeV]", "{:.1f}"), ("groomed mass below 40 GeV, share", "{:.3f}"),
                         ("mean multiplicity", "{:.1f}"), ("median n2_b1_mmdt", "{:.3f}"), ("median d2_b1_mmdt", "{:.2f}"))],
    measure_sample=_hlf_sample,
    measure_real=lambda shared: {},  # no real row of this dataset in ../shared/data: published figures only
    real_source=(
        "no real file of this dataset could be read here. Checked: the benchmark MLP's test accuracy and one-vs-rest "
        "AUCs on the real 830,000 jets with the same split (fastml-science, jet-classify's float baseline: accuracy "
        "0.766, AUCs g 0.942, q 0.905, t 0.964, W 0.955, Z 0.950; the hls4ml tutorial's part 1: accuracy 0.764), "
        "against an MLP of the same shape trained by scikit-learn on the sample's 40,000 training jets (so the sample "
        "may score a little lower for its size); and that d2_a1_b1_mmdt equals d2_b1_mmdt, as in every real row the "
        "hls4ml tutorial prints. Not checked (no published per-class figure found): the feature distributions"),
    leaves_out=(
        "the real dataset's MadGraph matrix elements, and whatever produced its W and Z jets (here the longitudinal "
        "bosons of a 2 TeV W'); the five real jets the hls4ml tutorial prints have 20-40 % fewer constituents than "
        "the sample's class means, too few to calibrate the multiplicity on"),
    published=_HLF_PUBLISHED,
)
