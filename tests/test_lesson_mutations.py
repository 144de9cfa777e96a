"""Mutation tests of the lessons' self-checks: each deliberate breakage of a lesson's teaching
point must make its self-check fail (DESIGN.md). They run the lesson's own functions (taken from
the notebook, not copied) on small inputs, not the whole notebook many times.

Lessons 3.1 and 3.2 (notebooks/03-gnn-tracking/): in 3.1 the interaction network's test AUC must
reach its threshold and beat the network without message passing, and its edge efficiency and
purity at the threshold must reach theirs; in 3.2 its tracks must reach the TrackML-score
threshold, beat the graph cuts and the network without message passing, and match classical
triplet following. Breakages, for each: the network left untrained, trained on shuffled labels,
trained on inverted labels (a sign error in the loss). A control run, trained properly on the
same small inputs, passes the same check.

Lessons 4.1 and 4.2 (notebooks/04-calo-gan/): in both the GAN's mean layer fractions must match
the reference's, and in 4.1 the untrained generator's must not; in 4.2 its classifier AUC must lie
between 0.6 and a threshold that the untrained generator exceeds. Breakages: the generator left untrained; trained with the incident energies
shuffled against the showers (it cannot learn how showers change with energy); a classifier test
that sees no shower information (only the incident energy; 4.2 only). A control run with the lesson's own
training passes. (3.2 and 4.2 train with 3.1's and 4.1's functions: each training that is the same as
one the other lesson already ran, on the same inputs, settings and random states, loads its weights instead of
running again.)

Lesson 5.1 (notebooks/05-sbi/01-sbi-z-boson.ipynb): NPE's posterior must match the tractable
twin's exact one (C2ST), its credible intervals must cover the truth as often as they claim on
the twin and on the realistic simulator, the formula fit must show its bias, and the Pythia input
m_Z must lie in the observation's 95 % interval. The lesson runs once, in sample mode, up to its
self-check; then each breakage replaces one of its results. Breakages: an estimator barely
trained (one epoch on 500 simulations); an over-confident one (samples pulled towards their mean
by a factor 2); the realistic analysis done with the estimator trained on the twin (the wrong
simulator); the formula fit's pseudo-experiments taken from the twin (no bias to find). A
control run (the lesson as it is) passes.

Lesson 6.1 (notebooks/06-fpga/01-fpga-jet-tagger.ipynb): the float network must reach its accuracy
threshold, the numpy ap_fixed must equal the C++ type, the 16-bit emulation must keep the float
accuracy and the narrowest uniform type must collapse. The lesson's own functions train the float
network on its sample and emulate it at 16 bits and at the narrowest width; then each breakage
replaces one result. Breakages: an untrained float network; a numpy ap_fixed that truncates where
it should round; a 16-bit emulation whose sums overflow (too few integer bits); a scan that never
narrows (every width emulated with the 16-bit type). A control run passes.

Lesson 6.2 (notebooks/06-fpga/02-qat-hgq2.ipynb): the low-bit QAT network must stay near the float
accuracy while rounding the float weights to the same formats loses more, and hls4ml's C++
emulation must reproduce the QAT network's outputs. Its first section runs whole (data, float
network, 16-bit emulation), then the lesson's functions train the QAT network (about 25 s).
Breakages: an untrained float network (against which any QAT would look good); "QAT" without the
training (the rounded float weights); the emulation compiled from another network (the QAT
network before its training). A control run passes.

Lesson 0 (ROOT to histogram) runs in seconds: its dimuon mass must show the J/psi and the Z, and
the chunked read must reproduce the in-memory histogram. Breakages: the muon momenta 3 % off (a
miscalibrated scale); the chunked read stopping half-way.

Lessons 1.1, 1.2 and 2.1 run whole (up to their self-checks) in well under a minute each, so each
breakage is a modified copy of the lesson (or a parameter) run once; the lessons as they are run
in the notebook tests. Lesson 1.1 (ttbar selection): the b tag must raise the ttbar purity,
data must match the prediction, and the ttbar cross-section must return the simulation's input
on data equal to the prediction (and, in sample mode, on the pseudo-data within its uncertainty).
Breakages: the b-tag cut removed (BTAG_CUT below every discriminator value); the simulation's
event weights dropped; the background not subtracted from the data. Lesson 1.2 (BDTs on HiggsML):
trained without the balanced weights; the AMS computed with `Weight` instead of `KaggleWeight`;
the public test part leaked into the training; and the lesson's own invitation, MAX_DEPTH = 8 and
MIN_LEAF = 5, which it announces will stop at the overtraining assertion. Lesson 2.1 (top-tagging
CNN): a network that does not learn (learning rate 0), and one whose training diverges (learning
rate 1): in both the best epoch is the first and the AUC falls; and the mass sculpting the lesson
asserts (the QCD jets the CNN keeps are heavier than QCD jets in general) computed from all QCD jets.
"""

from __future__ import annotations

import copy
import hashlib

import numpy as np
import pytest

from lesson_code import (BDT_LESSON, CALO_LESSON, CLASSIFIER_TEST_LESSON, CNN_LESSON, FPGA_LESSON, GNN_LESSON, HISTOGRAM_LESSON, QAT_LESSON,
                         SBI_LESSON, SELECTION_LESSON, TRACKS_LESSON, lesson_namespace, mutated_copy)


# ------------------------------------------------------------------ one training for two lessons
# Lessons 3.2 and 4.2 train their chapter's network again with the first lesson's functions (hepml.tracking and
# hepml.calogan hold exactly 3.1's and 4.1's source: test_shared_lesson_code.py). Given the same inputs, settings and
# random states, such a training gives the same weights, so it runs once for both lessons: the second lesson's model
# loads the weights, and the random states are left where its own training would have left them.
_TRAININGS: dict = {}


def _fingerprint(*parts) -> str:
    """A digest of arrays, tensors and settings (by content, not identity)."""
    import torch

    digest = hashlib.sha256()
    for part in parts:
        if isinstance(part, torch.Tensor):
            part = part.detach().cpu().numpy()
        digest.update(np.ascontiguousarray(part).tobytes() if isinstance(part, np.ndarray) else repr(part).encode())
    return digest.hexdigest()


def _random_states(rng) -> tuple:
    """torch's CPU and CUDA generator states and ``rng``'s (a numpy Generator, or None)."""
    import torch

    return (torch.get_rng_state(), torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
            rng.bit_generator.state if rng is not None else None)


def train_once(model, inputs: str, train, rng=None) -> None:
    """Run ``train()`` (which trains ``model`` in place), or load the weights an identical earlier training gave.
    ``inputs`` fingerprints the data and settings; the model's initial weights and the random states at the start
    complete the key."""
    import torch

    cpu_state, cuda_states, rng_state = _random_states(rng)
    key = (inputs, _fingerprint(*model.state_dict().values(), cpu_state, *(cuda_states or []), rng_state))
    if key not in _TRAININGS:
        train()
        _TRAININGS[key] = (copy.deepcopy(model.state_dict()), _random_states(rng))
    weights, (cpu_state, cuda_states, rng_state) = _TRAININGS[key]
    model.load_state_dict(weights)
    torch.set_rng_state(cpu_state)
    if cuda_states is not None:
        torch.cuda.set_rng_state_all(cuda_states)
    if rng is not None:
        rng.bit_generator.state = rng_state


@pytest.fixture(scope="module", params=[GNN_LESSON, TRACKS_LESSON], ids=["3.1", "3.2"])
def gnn(request):
    """The lesson's pipeline on 20 sample events (3 test, 2 validation, 15 training)."""
    import torch

    ns, check = lesson_namespace(request.param, N_EVENTS=20, N_TEST=3, N_VAL=2)
    ns["MODE"] = "sample"
    ns["rng"] = np.random.default_rng(ns["SEED"])
    torch.manual_seed(ns["SEED"])
    source = ns["data_fetchers"].get("trackml-2018", "sample", quiet=True)["events"]
    events = ns["trackml"].event_ids(source)[:20]
    ns["selected"] = {e: ns["select_hits"](ns["trackml"].read_event(source, e), ns["PT_MIN"]) for e in events}
    ns["graphs"] = {e: ns["build_graph"](h, ns["PHI_SLOPE_MAX"], ns["Z0_MAX"]) for e, h in ns["selected"].items()}
    ns["data"] = {e: ns["to_graph"](ns["selected"][e], *ns["graphs"][e]) for e in events}
    ns["test_events"], ns["val_events"], ns["train_events"] = events[:3], events[3:5], events[5:]
    return ns, check


def run_gnn_check(ns: dict, check: str, labels=lambda y: y, train: bool = True, epochs: int = 10) -> None:
    """Train the network (or not) on the given labels and its message-passing-free version on the
    true ones, evaluate everything as the lessons do (edges for 3.1, tracks for 3.2), then run the
    lesson's self-check."""
    import torch

    def trained(iterations, relabel, n_epochs):
        torch.manual_seed(ns["SEED"])
        model = ns["InteractionNetwork"](ns["HIDDEN"], iterations)
        graphs = [g.clone() for g in (ns["data"][e] for e in ns["train_events"])]
        for g in graphs:
            g.y = relabel(g.y)
        validation = [ns["data"][e] for e in ns["val_events"]]
        inputs = _fingerprint(ns["HIDDEN"], iterations, n_epochs, ns["LEARNING_RATE"],
                              *[t for g in graphs + validation for t in (g.x, g.edge_index, g.edge_attr, g.y)])
        train_once(model, inputs, lambda: ns["train"](model, graphs, validation, n_epochs, ns["LEARNING_RATE"], ns["rng"]),
                   ns["rng"])
        return model

    if train:
        model = trained(ns["N_ITERATIONS"], labels, epochs)
    else:
        torch.manual_seed(ns["SEED"])
        model = ns["InteractionNetwork"](ns["HIDDEN"], ns["N_ITERATIONS"])
    test = ns["test_events"]
    score = lambda m: {e: ns["edge_scores"](m, ns["data"][e]) for e in test}
    if "plain_scores" not in ns:  # the network without message passing, trained once per module
        ns["plain_scores"] = score(trained(0, lambda y: y, ns["EPOCHS"]))
    gnn_scores, plain_scores = score(model), ns["plain_scores"]
    triplet = {e: ns["triplet_scores"](ns["selected"][e], *ns["graphs"][e][:2]) for e in test}
    y = np.concatenate([ns["graphs"][e][2] for e in test])
    s_gnn = np.concatenate([gnn_scores[e] for e in test])
    auc = lambda s: ns["roc_auc_score"](y, np.concatenate([s[e] for e in test]))
    kept = s_gnn > ns["THRESHOLD"]
    ns.update(test_auc=ns["roc_auc_score"](y, s_gnn), plain_auc=auc(plain_scores), triplet_auc=auc(triplet), _t0=0.0,
              edge_efficiency=kept[y].mean(), edge_purity=y[kept].mean() if kept.any() else 0.0)
    if "reconstruct" in ns:  # lesson 3.2: the tracks
        ns["results"] = ns["pd"].DataFrame({
            ns["NETWORK"]: ns["reconstruct"](gnn_scores, ns["THRESHOLD"]),
            ns["PLAIN"]: ns["reconstruct"](plain_scores, ns["THRESHOLD"]),
            ns["TRIPLET"]: ns["reconstruct"](triplet, -np.inf),
            "graph cuts only": ns["cuts_only"](),
        }).T
    exec(check, ns)


@pytest.mark.slow
def test_gnn_lesson_check_passes_when_trained(gnn):
    ns, check = gnn
    run_gnn_check(ns, check, epochs=ns["EPOCHS"])  # the lesson's training, on fewer events


@pytest.mark.slow
@pytest.mark.parametrize("breakage, kwargs", [
    ("untrained network", {"train": False}),
    ("trained on shuffled labels", {"labels": lambda y: y[np.random.default_rng(0).permutation(len(y))]}),
    ("trained on inverted labels", {"labels": lambda y: 1 - y}),
])
def test_gnn_lesson_check_fails_when_broken(gnn, breakage, kwargs):
    ns, check = gnn
    with pytest.raises(AssertionError):
        run_gnn_check(ns, check, **kwargs)


# ------------------------------------------------------------------ lessons 4.1 and 4.2: the calorimeter GAN
@pytest.fixture(scope="module", params=[CALO_LESSON, CLASSIFIER_TEST_LESSON], ids=["4.1", "4.2"])
def calo_gan(request):
    """The lesson run up to its training (data, preprocessing, model definitions), in sample mode."""
    ns, check = lesson_namespace(request.param, run_until="history = train_gan(", DATA_MODE="sample")
    return ns, check


def _train(ns, shuffle_energies: bool = False):
    import torch

    E = ns["E_train"]
    if shuffle_energies:  # each shower paired with another shower's incident energy
        E = E[np.random.default_rng(0).permutation(len(E))]
    torch.manual_seed(ns["SEED"])
    generator = ns["Generator"](ns["scaling"], ns["LATENT"], ns["HIDDEN"])
    critic = ns["make_critic"](ns["scaling"], ns["HIDDEN"])
    ns["Generator"](ns["scaling"], ns["LATENT"], ns["HIDDEN"])  # the lessons' untrained copy: the same random numbers
    inputs = _fingerprint(ns["showers_train"], ns["E_train"], E, ns["LATENT"], ns["HIDDEN"], ns["LOG_FLOOR"], ns["ITERATIONS"],
                          ns["LEARNING_RATE"], sorted(ns["TRAINING"].items()), str(ns["DEVICE"]),
                          *critic.state_dict().values())  # the critic's initial weights shape the generator's training too
    train_once(generator, inputs, lambda: ns["train_gan"](generator, critic, ns["showers_train"], E, iterations=ns["ITERATIONS"],
                                                          lr=ns["LEARNING_RATE"], progress=False, **ns["TRAINING"]))
    return generator


def run_calo_check(ns: dict, check: str, generator) -> None:
    """Evaluate ``generator`` as the lessons do (layer fractions for both, an untrained baseline, the
    classifier tests for 4.2), then run the lesson's self-check."""
    import torch

    calo, E, reference = ns["calo"], ns["E_eval"], ns["showers_eval"]
    generated = ns["generate"](generator, E)
    ns["fractions_eval"] = calo.layer_fractions(reference, ns["binning"])
    ns["fractions_gen"] = calo.layer_fractions(generated, ns["binning"])
    by_energy = lambda f: ns["pd"].DataFrame(f, columns=ns["binning"].layers).groupby(E).mean()
    ns["fraction_gap"] = (by_energy(ns["fractions_gen"]) - by_energy(ns["fractions_eval"])).abs()
    torch.manual_seed(ns["SEED"])
    untrained = ns["generate"](ns["Generator"](ns["scaling"], ns["LATENT"], ns["HIDDEN"]), E)
    ns["untrained_gap"] = (by_energy(calo.layer_fractions(untrained, ns["binning"])) - by_energy(ns["fractions_eval"])).abs()
    if "classifier_test" in ns:  # lesson 4.2
        inputs, test, half = ns["high_level_inputs"], ns["classifier_test"], len(E) // 2
        ns["auc"] = {
            ("reference vs reference", "high"): test(inputs(reference[:half], E[:half]), inputs(reference[half:], E[half:]))[0],
            ("GAN", "high"): test(inputs(reference, E), inputs(generated, E))[0],
            ("untrained generator", "high"): test(inputs(reference, E), inputs(untrained, E))[0],
        }
    exec(check, ns)


@pytest.fixture(scope="module")
def calo_trained(calo_gan):
    return _train(calo_gan[0])


@pytest.mark.slow
def test_calo_gan_lesson_check_passes_when_trained(calo_gan, calo_trained):
    run_calo_check(*calo_gan, calo_trained)


@pytest.mark.slow
def test_calo_gan_lesson_check_fails_untrained(calo_gan):
    import torch

    ns, check = calo_gan
    torch.manual_seed(ns["SEED"])
    with pytest.raises(AssertionError):
        run_calo_check(ns, check, ns["Generator"](ns["scaling"], ns["LATENT"], ns["HIDDEN"]))


@pytest.mark.slow
def test_calo_gan_lesson_check_fails_trained_without_the_energy(calo_gan):
    ns, check = calo_gan
    with pytest.raises(AssertionError, match="layer fraction"):
        run_calo_check(ns, check, _train(ns, shuffle_energies=True))


@pytest.mark.slow
def test_calo_gan_lesson_check_fails_with_a_blind_classifier(calo_gan, calo_trained, monkeypatch):
    ns, check = calo_gan
    if "classifier_test" not in ns:
        pytest.skip("lesson 4.1 has no classifier test (lesson 4.2 does)")
    monkeypatch.setitem(ns, "high_level_inputs", lambda showers, E: np.log10(E)[:, None])
    with pytest.raises(AssertionError, match="classifier"):
        run_calo_check(ns, check, calo_trained)


# ------------------------------------------------------------------ lesson 5.1: SBI
@pytest.fixture(scope="module")
def sbi_lesson():
    """Lesson 5.1 run whole in sample mode up to its self-check (about two minutes)."""
    ns, check = lesson_namespace(SBI_LESSON, run_until="Self-check passed", DATA_MODE="sample")
    return ns, check


class _OverConfident:
    """A posterior whose samples are pulled towards their mean: too narrow by ``factor``."""

    def __init__(self, posterior, factor: float = 2.0):
        self.posterior, self.factor = posterior, factor

    def _shrink(self, s):
        return s.mean(0, keepdim=True) + (s - s.mean(0, keepdim=True)) / self.factor

    def sample(self, shape, x, **kwargs):
        return self._shrink(self.posterior.sample(shape, x=x, **kwargs))

    def sample_batched(self, shape, x, **kwargs):
        return self._shrink(self.posterior.sample_batched(shape, x=x, **kwargs))


class _WithoutRejection:
    """A posterior sampled without sbi's rejection at the prior's edges: on observations from
    another simulator most of its samples leak out of the prior, and rejecting them would take
    minutes and gigabytes; the coverage test needs no rejection to fail."""

    def __init__(self, posterior):
        self.posterior = posterior

    def sample(self, shape, x, **kwargs):
        return self.posterior.sample(shape, x=x, reject_outside_prior=False, **kwargs)

    def sample_batched(self, shape, x, **kwargs):
        return self.posterior.sample_batched(shape, x=x, reject_outside_prior=False, **kwargs)


def run_sbi_check(ns: dict, check: str, **replacements) -> None:
    exec(check, {**ns, **replacements})


@pytest.mark.slow
def test_sbi_lesson_check_passes_as_taught(sbi_lesson):
    run_sbi_check(*sbi_lesson)


@pytest.mark.slow
def test_sbi_lesson_check_fails_for_an_untrained_estimator(sbi_lesson):
    import torch

    ns, check = sbi_lesson
    torch.manual_seed(0)
    barely = ns["NPE"](ns["prior"], density_estimator=ns["MDN"], tracker=ns["logs"](), show_progress_bars=False)
    barely.append_simulations(ns["theta_train"][:500], ns["features"](ns["x_train_twin"][:500])).train(max_num_epochs=1)
    with pytest.raises(AssertionError, match="C2ST"):
        run_sbi_check(ns, check, posterior_twin=barely.build_posterior())


@pytest.mark.slow
def test_sbi_lesson_check_fails_for_an_over_confident_estimator(sbi_lesson):
    ns, check = sbi_lesson
    with pytest.raises(AssertionError, match="realistic: a 68% interval's coverage"):
        run_sbi_check(ns, check, posterior_real=_OverConfident(ns["posterior_real"]))


@pytest.mark.slow
def test_sbi_lesson_check_fails_for_an_estimator_of_the_wrong_simulator(sbi_lesson):
    ns, check = sbi_lesson
    with pytest.raises(AssertionError, match="realistic"):
        run_sbi_check(ns, check, posterior_real=_WithoutRejection(ns["posterior_twin"]))


@pytest.mark.slow
def test_sbi_lesson_check_fails_when_the_formula_fit_has_no_bias_to_find(sbi_lesson):
    ns, check = sbi_lesson
    zboson, n = ns["zboson"], ns["N_OBS"]
    twin_counts = zboson.simulate(np.tile(ns["THETA_REF"], (ns["N_PSEUDO"], 1)), n, seed=5, realistic=False)
    fits = np.array([ns["formula_fit"](c) for c in twin_counts])
    with pytest.raises(AssertionError, match="formula fit"):
        run_sbi_check(ns, check, pseudo_fits=fits)


# ------------------------------------------------------------------ lesson 6.1 (FPGA: fixed point, PTQ)
@pytest.fixture(scope="module")
def fpga_lesson():
    """Lesson 6.1 up to its data split (the C++ ap_fixed demonstration included), then its own
    functions: the float network, its 16-bit emulation and the narrowest of the uniform scan."""
    ns, check = lesson_namespace(FPGA_LESSON, run_until="def benchmark_mlp")
    ns["MODE"] = "sample"
    float_model = ns["benchmark_mlp"]()
    ns["train_float"](float_model, ns["x_train"], ns["y_train"], ns["x_val"], ns["y_val"], ns["EPOCHS"])
    ns["float_model"] = float_model
    ns["acc_float"] = ns["accuracy"](ns["torch_scores"](float_model, ns["x_test"]), ns["y_test"])
    ns["INTEGER_BITS"] = ns["uniform_integer_bits"](ns["largest_values"](float_model, ns["x_train"])[0])
    ns["REFERENCE"] = f"ap_fixed<16,{ns['INTEGER_BITS']}>"
    ns["acc_hls_16"] = ptq_accuracy(ns, ns["REFERENCE"])
    narrowest = min(ns["PTQ_WIDTHS"])
    ns["ptq_scan"] = {16: ns["acc_hls_16"], narrowest: ptq_accuracy(ns, f"ap_fixed<{narrowest},{ns['INTEGER_BITS']}>")}
    return ns, check


def ptq_accuracy(ns: dict, precision: str) -> float:
    """The lesson's post-training quantisation of its float network, emulated by hls4ml."""
    emulation = ns["hls_from_torch"](ns["float_model"], precision,
                                     ns["WORK"] / precision.replace("<", "_").replace(",", "_").strip(">"))
    return ns["accuracy"](ns["hls_scores"](emulation, ns["x_test"]), ns["y_test"])


def run_fpga_check(ns: dict, check: str, **replacements) -> None:
    exec(check, {**ns, **replacements})


@pytest.mark.slow
def test_fpga_lesson_check_fails_for_a_fixed_point_emulation_that_truncates(fpga_lesson):
    """The lesson's C++ demonstration, run again with a numpy ap_fixed that ignores the rounding mode."""
    import nbformat

    ns, check = fpga_lesson
    demo = next(c.source for c in nbformat.read(FPGA_LESSON, as_version=4).cells
                if c.cell_type == "code" and "demo.cpp" in c.source)
    truncating = dict(ns)
    truncating["ap_fixed"] = lambda x, width, integer, rounding="TRN", overflow="WRAP", signed=True: ns["ap_fixed"](
        x, width, integer, "TRN", overflow, signed)
    exec(demo, truncating)
    assert not truncating["cpp_agrees"]
    with pytest.raises(AssertionError, match="differs from the C.. type"):
        run_fpga_check(ns, check, cpp_agrees=truncating["cpp_agrees"])


@pytest.mark.slow
def test_fpga_lesson_check_fails_for_a_16_bit_emulation_that_overflows(fpga_lesson):
    ns, check = fpga_lesson
    with pytest.raises(AssertionError, match="sums overflow"):
        run_fpga_check(ns, check, acc_hls_16=ptq_accuracy(ns, "ap_fixed<16,3>"))


@pytest.mark.slow
def test_fpga_lesson_check_fails_for_a_scan_that_never_narrows(fpga_lesson):
    """Every width of the scan emulated with the 16-bit type (the width not passed on): nothing collapses."""
    ns, check = fpga_lesson
    with pytest.raises(AssertionError, match="narrowest uniform type should collapse"):
        run_fpga_check(ns, check, ptq_scan={w: ns["acc_hls_16"] for w in ns["PTQ_WIDTHS"]})


# ------------------------------------------------------------------ lesson 6.2 (FPGA: QAT with HGQ2)
@pytest.fixture(scope="module")
def qat_lesson():
    """Lesson 6.2's first section whole (data, the float network, its 16-bit emulation), then its own
    functions: the QAT_BITS-bit network with the rounded float weights, the same after QAT, and the
    QAT network's hls4ml emulation."""
    ns, check = lesson_namespace(QAT_LESSON, run_until="def quantised_mlp")
    assert ns["MODE"] == "sample"
    float_model = ns["float_model"]
    rounded = ns["quantised_mlp"](ns["QAT_BITS"], float_model)
    ns["load_float_weights"](rounded, float_model)
    ns["rounded"] = rounded
    ns["acc_ptq"] = ns["accuracy"](ns["keras_scores"](rounded, ns["x_test"]), ns["y_test"])
    qat = ns["quantised_mlp"](ns["QAT_BITS"], float_model)
    ns["load_float_weights"](qat, float_model)
    ns["train_qat"](qat, ns["QAT_EPOCHS"])
    ns["qat_model"] = qat
    ns["acc_qat"] = ns["accuracy"](ns["keras_scores"](qat, ns["x_test"]), ns["y_test"])
    ns.update(emulate(ns, qat, "qat"))
    ns["qat_results"] = {}
    return ns, check


def emulate(ns: dict, model, name: str) -> dict:
    """The self-check's emulation figures for the hls4ml emulation of ``model``, against the QAT network."""
    emulation = ns["hls_from_keras"](model, name)
    identical, same_class, largest = ns["emulation_agreement"](
        ns["keras_scores"](ns["qat_model"], ns["x_test"]), ns["hls_scores"](emulation, ns["x_test"]))
    return {"identical": identical, "same_class": same_class, "largest": largest}


@pytest.mark.slow
@pytest.mark.parametrize("lesson", ["fpga_lesson", "qat_lesson"])
def test_fpga_lessons_checks_pass_as_taught(lesson, request):
    run_fpga_check(*request.getfixturevalue(lesson))


@pytest.mark.slow
@pytest.mark.parametrize("lesson", ["fpga_lesson", "qat_lesson"])
def test_fpga_lessons_checks_fail_for_an_untrained_float_network(lesson, request):
    """In 6.2, QAT against an untrained float network would meet its margin trivially: the float check stops it."""
    ns, check = request.getfixturevalue(lesson)
    untrained = ns["benchmark_mlp"]()
    with pytest.raises(AssertionError, match="float network's accuracy"):
        run_fpga_check(ns, check, acc_float=ns["accuracy"](ns["torch_scores"](untrained, ns["x_test"]), ns["y_test"]))


@pytest.mark.slow
def test_qat_lesson_check_fails_for_qat_without_its_training(qat_lesson):
    ns, check = qat_lesson
    with pytest.raises(AssertionError, match="QAT"):
        run_fpga_check(ns, check, acc_qat=ns["acc_ptq"])


@pytest.mark.slow
def test_qat_lesson_check_fails_for_the_emulation_of_another_network(qat_lesson):
    ns, check = qat_lesson
    with pytest.raises(AssertionError, match="emulation reproduces only"):
        run_fpga_check(ns, check, **emulate(ns, ns["rounded"], "rounded"))


# ---------------------------------------------------------------------------------------
# lessons 1.1, 1.2 and 2.1: each breakage runs a modified copy of the lesson up to its self-check


def run_lesson_check(path, tmp_path, replacements=None, run_until=None, **parameters):
    lesson = mutated_copy(path, tmp_path, replacements or {}) if replacements else path
    ns, check = lesson_namespace(lesson, run_until=run_until, **parameters)
    exec(check, ns)


SELECTION_CHECK = "tolerance = 0.10 if MODE"


@pytest.mark.slow
def test_selection_lesson_check_fails_without_the_b_tag(tmp_path):
    with pytest.raises(AssertionError, match="b tag should raise the ttbar purity"):
        run_lesson_check(SELECTION_LESSON, tmp_path, run_until=SELECTION_CHECK, BTAG_CUT=-100.0, N_DASK_WORKERS=1)


@pytest.mark.slow
def test_selection_lesson_check_fails_without_the_event_weights(tmp_path):
    with pytest.raises(AssertionError, match="data/simulation after the muon selection"):
        run_lesson_check(SELECTION_LESSON, tmp_path, {"else ev.EventWeight\n": "else ev.EventWeight * 0 + 1\n"},
                         run_until=SELECTION_CHECK, N_DASK_WORKERS=1)


@pytest.mark.slow
def test_selection_lesson_check_fails_without_the_background_subtraction(tmp_path):
    with pytest.raises(AssertionError, match="on data equal to the prediction"):
        run_lesson_check(SELECTION_LESSON, tmp_path, {"SIGMA_REF_PB * (n_data - b_pred * lumi_scale)": "SIGMA_REF_PB * n_data"},
                         run_until=SELECTION_CHECK, N_DASK_WORKERS=1)


BDT_CHECK = "hgb, xgbm, cut = results.loc"


@pytest.mark.slow
@pytest.mark.parametrize("breakage, replacements, message", [
    ("trained without the balanced weights", {"make().fit(X_train, y_train, sample_weight=w_train)": "make().fit(X_train, y_train)"},
     "trained with balanced weights"),
    ("AMS with Weight instead of KaggleWeight", {'kw_test = df.loc[test, "KaggleWeight"]': 'kw_test = df.loc[test, "Weight"]'},
     "normalised to the full luminosity"),
    ("public test part leaked into the training", {'train = (df["KaggleSet"] == "t").to_numpy()':
                                                   'train = df["KaggleSet"].isin(["t", "b"]).to_numpy()'},
     "training part only"),
])
def test_bdt_lesson_check_fails_when_broken(tmp_path, breakage, replacements, message):
    with pytest.raises(AssertionError, match=message):
        run_lesson_check(BDT_LESSON, tmp_path, replacements, run_until=BDT_CHECK, N_BOOTSTRAP=10)


@pytest.mark.slow
def test_bdt_lesson_overtraining_invitation_stops_where_the_lesson_says(tmp_path):
    with pytest.raises(AssertionError, match="overtraining"):
        run_lesson_check(BDT_LESSON, tmp_path, run_until=BDT_CHECK, N_BOOTSTRAP=10, MAX_DEPTH=8, MIN_LEAF=5)


CNN_CHECK = "AUC_THRESHOLD = 0.97 if MODE"


@pytest.mark.slow
@pytest.mark.parametrize("learning_rate", [0.0, 1.0], ids=["does not learn", "diverges"])
def test_cnn_lesson_check_fails_when_training_fails(tmp_path, learning_rate):
    with pytest.raises(AssertionError, match="CNN|epoch"):
        run_lesson_check(CNN_LESSON, tmp_path, run_until=CNN_CHECK, LEARNING_RATE=learning_rate, MAX_EPOCHS=4)


@pytest.mark.slow
def test_cnn_lesson_check_fails_when_the_kept_qcd_jets_are_not_the_ones_the_cnn_keeps(tmp_path):
    # the sculpting measured on every QCD jet instead of those passing the CNN's cut
    with pytest.raises(AssertionError, match="heavier than QCD jets in general"):
        run_lesson_check(CNN_LESSON, tmp_path, {"kept_qcd_median[name] = float(np.median(qcd_mass[passing]))":
                                                "kept_qcd_median[name] = float(np.median(qcd_mass))"},
                         run_until=CNN_CHECK, MAX_EPOCHS=4)


HISTOGRAM_CHECK = "expected_branches = {"


@pytest.mark.parametrize("breakage, replacements, message", [
    ("muon momenta 3 % off", {'"pt": arrays.Muon_pt,': '"pt": arrays.Muon_pt * 1.03,'}, "J/psi peak"),
    ("the chunked read stops half-way", {"step_size=CHUNK_SIZE, entry_stop=n_read)": "step_size=CHUNK_SIZE, entry_stop=n_read // 2)"},
     "chunked reading"),
])
def test_histogram_lesson_check_fails_when_broken(tmp_path, breakage, replacements, message):
    with pytest.raises(AssertionError, match=message):
        run_lesson_check(HISTOGRAM_LESSON, tmp_path, replacements, run_until=HISTOGRAM_CHECK)


# ------------------------------------------------------------------ exercise checks
def _exercise_cells(path):
    """(skeleton, solution, check) sources of each exercise that has a skeleton, in order."""
    import nbformat

    cells = nbformat.read(path, as_version=4).cells
    tagged = lambda i, tag: tag in cells[i].metadata.get("tags", [])
    return [(cells[i].source, cells[i + 1].source, cells[i + 2].source) for i in range(len(cells) - 2)
            if tagged(i, "skeleton") and tagged(i + 1, "solution") and tagged(i + 2, "exercise-check")]


# Per lesson: where its body ends, cheaper parameters, and for each exercise a plausible wrong answer
# (a line of the worked solution, and what a student might write instead).
EXERCISE_MISTAKES = {
    "0": (HISTOGRAM_LESSON, HISTOGRAM_CHECK, {}, [
        ("same = two[two.charge[:, 0] == two.charge[:, 1]]", "same = two"),  # all pairs, not the same-sign ones
        ("jpsi = dimuon[(dimuon.mass > 2.95) & (dimuon.mass < 3.25)]", "jpsi = dimuon"),  # no mass window
    ]),
    "1.1": (SELECTION_LESSON, SELECTION_CHECK, {"N_DASK_WORKERS": 1}, [
        ("passed = passed & (ak.sum(jets.btag > cut, axis=1) >= 1)", "passed = passed"),  # the b-tag forgotten
        ("light = jets[jets.btag <= BTAG_CUT]", "light = jets"),  # b jets among the W's daughters
    ]),
    "1.2": (BDT_LESSON, BDT_CHECK, {"N_BOOTSTRAP": 10}, [
        ("[:, 1], sample_weight=w_test)", "[:, 1])"),  # an unweighted test AUC
        ("y_test[private], kw[private])", "y_test[private], w_test[private])"),  # Weight instead of KaggleWeight
    ]),
    "2.1": (CNN_LESSON, CNN_CHECK, {"MAX_TRAIN_JETS": 4000, "MAX_EVAL_JETS": 2000, "MAX_EPOCHS": 3}, [
        ("centred_train, centred_test = (jet_images(c, rotate=False, flip=False) for c in (c_train, c_test))",
         "centred_train, centred_test = x_train, x_test"),  # the fully preprocessed images again
        ("summed = (self.phi(particles) * mask.unsqueeze(-1)).sum(dim=1)",
         "summed = self.phi(particles).sum(dim=1)"),  # the padding not masked out
    ]),
    "3.1": (GNN_LESSON, "AUC_MIN, EDGE_MIN = ", {"N_EVENTS": 20, "N_TEST": 3, "N_VAL": 2, "EPOCHS": 5}, [
        ("select_hits(trackml.read_event(source, e), pt_min=0.7)", "select_hits(trackml.read_event(source, e), PT_MIN)"),
        # the lesson's threshold kept
        ("train(shallow, [data[e] for e in train_events], [data[e] for e in val_events], EPOCHS, LEARNING_RATE, rng)",
         "pass"),  # never trained
    ]),
    "3.2": (TRACKS_LESSON, "SCORE_MIN = 0.85 if", {"N_EVENTS": 20, "N_TEST": 3, "N_VAL": 2, "EPOCHS": 5}, [
        ("loss = (same * d ** 2 + (1 - same) * torch.relu(1 - d) ** 2).mean()",
         "loss = ((1 - same) * d ** 2 + same * torch.relu(1 - d) ** 2).mean()"),  # attraction and repulsion swapped
    ]),
    "4.1": (CALO_LESSON, "FRACTION_TOL_ALL, FRACTION_TOL_EACH =", {"N_TRAIN": 5000, "N_EVAL": 4000, "ITERATIONS": 300}, [
        ("longer = generate(generator, E_eval)", "longer = showers_gen"),  # the old showers evaluated again
    ]),
    "4.2": (CLASSIFIER_TEST_LESSON, "FRACTION_TOL_ALL, FRACTION_TOL_EACH, AUC_MAX =",
            {"N_TRAIN": 5000, "N_EVAL": 4000, "ITERATIONS": 300, "CLASSIFIER_EPOCHS": 3}, [
        ("shape_columns = [0] + [i for", "shape_columns = [i for"),  # the shapes without their incident energy
        ("loss = ((rebuilt - target) ** 2).sum(dim=1).mean() + kl", "loss = ((rebuilt - target) ** 2).sum(dim=1).mean()"),
        # an autoencoder, not a VAE: no KL term
    ]),
    "5.1": (SBI_LESSON, "C2ST_MAX, COVERAGE_RANGE = 0.75",
            {"N_SIMULATIONS": 3000, "N_VALIDATION": 100, "N_PSEUDO": 10, "N_POSTERIOR": 500}, [
        ("(s - s.mean(0, keepdim=True)) / self.factor", "(s - s.mean(0, keepdim=True)) * self.factor"),  # widened
        ("pull = ((samples_all[..., 0].mean(0) - theta_val_real[:, 0]) / samples_all[..., 0].std(0)).detach().numpy()",
         "pull = (samples_all[..., 0].mean(0) - theta_val_real[:, 0]).detach().numpy()"),  # a residual, not a pull
        ("    m = selected * scale\n", "    m = selected\n"),  # the scale never applied
    ]),
    "6.1": (FPGA_LESSON, "ACCURACY_MIN = {", {"EPOCHS": 15}, [
        ("quantile(0.7)", "quantile(0.3)"),  # the 30 % smallest pruned, not the 70 %
        ("bits = 1 + max(", "bits = max("),  # the sign bit forgotten
    ]),
    "6.2": (QAT_LESSON, "ACCURACY_MIN = {", {"EPOCHS": 15, "QAT_EPOCHS": 3}, [
        ("LayerConfigScope(enable_ebops=True, beta0=beta0)", "LayerConfigScope(enable_ebops=True, beta0=1e-5)"),
        # beta0 never passed on
    ]),
}


@pytest.mark.parametrize("lesson", list(EXERCISE_MISTAKES))
def test_exercise_checks_pass_with_the_solutions_and_fail_on_wrong_answers(lesson):
    """Each exercise's skeleton raises until it is filled in, its check passes after the worked
    solution, and a plausible wrong answer makes the check fail."""
    from lesson_code import lesson_namespace

    path, run_until, parameters, mistakes = EXERCISE_MISTAKES[lesson]
    exercises = _exercise_cells(path)
    assert len(exercises) == len(mistakes)
    ns, _ = lesson_namespace(path, run_until=run_until, **parameters)
    quiet = lambda code: code.replace("plt.show()", "plt.close('all')")
    for (skeleton, solution, check), (right, wrong) in zip(exercises, mistakes):
        with pytest.raises(NotImplementedError):
            exec(quiet(skeleton), dict(ns))
        assert right in solution
        exec(quiet(solution), ns)
        exec(check, ns)  # passes
        student = dict(ns)
        exec(quiet(solution.replace(right, wrong)), student)
        with pytest.raises(AssertionError):
            exec(check, student)
