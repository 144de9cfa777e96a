"""Breakages of the lessons that run in the lesson's own kernel, right after the notebook test ran
the lesson whole: each reuses everything the lesson read, computed and trained (nothing is trained
a second time on the same inputs), changes one thing in a copy of the lesson's namespace, and runs
a check, which must fail (with a message naming the breakage, where one is given).

The notebook runner (``notebook_runner.py``) adds them as tests after the notebook's last cell, in
the same kernel, e.g. ``notebooks/05-sbi/01-sbi-z-boson.ipynb::breakage: over-confident estimator``;
``pytest notebooks/05-sbi`` runs the lesson and its breakages. Two kinds:

* **Exercise mistakes** (``EXERCISE_MISTAKES``): per exercise, its skeleton must raise until the
  student fills it in, and a plausible wrong answer (a line of the worked solution and what a
  student might write instead) must make the exercise's check fail. That the check passes with the
  solution is what the notebook test itself ran.
* **Self-check breakages** (``@breaks``): a function given a copy of the lesson's namespace that
  replaces one of the lesson's results by a broken one (an over-confident posterior, an untrained
  network, an emulation of another network); then the self-check must fail. Such a function is
  sent to the kernel as its source, so it uses only its arguments, what it imports and the
  ``@kernel_helper`` functions (sent with it): ``ns`` (the copy) and ``cell(text)``, the source of
  the lesson's code cell that contains ``text``.

Breakages that need a training of their own on other inputs (shuffled labels, another learning rate,
another split) stay in ``test_lesson_mutations.py``, on inputs as small as their purpose allows.
"""

from __future__ import annotations

import ast
import inspect
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import nbformat

from bookkit import school
from lesson_code import ROOT, self_check


@dataclass(frozen=True)
class Breakage:
    name: str  # the test's name, after "breakage: "
    code: str  # run in a copy of the lesson's namespace, in its kernel
    check: str  # then this check, which must raise AssertionError (empty: the code itself must raise)
    expect: str = "AssertionError"  # the exception the check (or, without a check, the code) must raise
    match: str | None = None  # a regular expression its message must match
    realistic: bool = False  # a mistake of the size a real one has (not only "untrained" or "inverted")
    caught: bool = True  # False: below the check's statistical reach, so the check must still pass (``reach`` says why)
    reach: str = ""


def lesson_number(path: Path) -> str:
    """'2.1' for notebooks/02-cnn-jet-images/01-top-tagging-cnn.ipynb (bookkit.school's numbering)."""
    return school.lesson_number(path.relative_to(ROOT).as_posix())


def _code_cells(path: Path) -> list:
    return [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]


def exercise_cells(path: Path) -> list[tuple[str, str, str]]:
    """(skeleton, solution, check) sources of each exercise of the lesson, in order."""
    cells = _code_cells(path)
    tagged = lambda i, tag: tag in cells[i].metadata.get("tags", [])
    return [(cells[i].source, cells[i + 1].source, cells[i + 2].source) for i in range(len(cells) - 2)
            if tagged(i, "skeleton") and tagged(i + 1, "solution") and tagged(i + 2, "exercise-check")]


def quiet(code: str) -> str:
    """Figures closed instead of shown: a breakage's plots are not looked at."""
    return code.replace("plt.show()", "plt.close('all')")


# Per lesson, for each exercise in order: a line of the worked solution, and a plausible wrong answer
# a student might write instead, which the exercise's check must catch.
EXERCISE_MISTAKES: dict[str, list[tuple[str, str]]] = {
    "0.1": [
        ("same = two[two.charge[:, 0] == two.charge[:, 1]]", "same = two"),  # all pairs, not the same-sign ones
        ("jpsi = dimuon[(dimuon.mass > 2.95) & (dimuon.mass < 3.25)]", "jpsi = dimuon"),  # no mass window
    ],
    "1.1": [
        ('passed = steps[">= 4 jets"]', 'passed = steps[">= 1 b-tag"]'),  # started after the lesson's own b tag
        ("light = jets[jets.btag <= BTAG_CUT]", "light = jets"),  # b jets among the W's daughters
    ],
    "1.2": [
        ("[:, 1], sample_weight=w_test)", "[:, 1])"),  # an unweighted test AUC
        ("y_test[private], kw[private])", "y_test[private], w_test[private])"),  # Weight instead of KaggleWeight
    ],
    "2.1": [
        ("centred_train, centred_test = (jet_images(c, rotate=False, flip=False) for c in (c_train, c_test))",
         "centred_train, centred_test = x_train, x_test"),  # the fully preprocessed images again
        ("summed = (self.phi(particles) * mask.unsqueeze(-1)).sum(dim=1)",
         "summed = self.phi(particles).sum(dim=1)"),  # the padding not masked out
    ],
    "3.1": [
        ("select_hits(trackml.read_event(source, e), pt_min=0.7)", "select_hits(trackml.read_event(source, e), PT_MIN)"),
        # the lesson's threshold kept
        ("train(shallow, [data[e] for e in train_events], [data[e] for e in val_events], EPOCHS, LEARNING_RATE, rng)",
         "pass"),  # never trained
    ],
    "3.2": [
        ("loss = (same * d ** 2 + (1 - same) * torch.relu(1 - d) ** 2).mean()",
         "loss = ((1 - same) * d ** 2 + same * torch.relu(1 - d) ** 2).mean()"),  # attraction and repulsion swapped
    ],
    "4.1": [
        ("longer = generate(generator, E_eval)", "longer = showers_gen"),  # the old showers evaluated again
    ],
    "4.2": [
        ("shape_columns = [0] + [i for", "shape_columns = [i for"),  # the shapes without their incident energy
        ("loss = ((rebuilt - target) ** 2).sum(dim=1).mean() + kl", "loss = ((rebuilt - target) ** 2).sum(dim=1).mean()"),
        # an autoencoder, not a VAE: no KL term
    ],
    "5.1": [
        ("(s - s.mean(0, keepdim=True)) / self.factor", "(s - s.mean(0, keepdim=True)) * self.factor"),  # widened
        ("pull = ((samples_all[..., 0].mean(0) - theta_val_real[:, 0]) / samples_all[..., 0].std(0)).detach().numpy()",
         "pull = (samples_all[..., 0].mean(0) - theta_val_real[:, 0]).detach().numpy()"),  # a residual, not a pull
        ("    m = selected * scale\n", "    m = selected\n"),  # the scale never applied
    ],
    "6.1": [
        ("quantile(0.7)", "quantile(0.3)"),  # the 30 % smallest pruned, not the 70 %
        ("bits = 1 + max(", "bits = max("),  # the sign bit forgotten
    ],
    "6.2": [
        ("LayerConfigScope(enable_ebops=True, beta0=beta0)", "LayerConfigScope(enable_ebops=True, beta0=1e-5)"),
        # beta0 never passed on
    ],
}


# ------------------------------------------------------------------ breakages of the self-checks
SELF_CHECK_BREAKAGES: dict[str, list[tuple[Callable, str | None]]] = {}
KERNEL_HELPERS: list[Callable] = []  # sent to the kernel with every breakage: functions the breakages share


def kernel_helper(function):
    KERNEL_HELPERS.append(function)
    return function


def breaks(lesson: str, match: str | None = None, realistic: bool = False, caught: bool = True, reach: str = ""):
    """Register ``change(ns, cell)`` as a breakage of ``lesson``'s self-check (its docstring's first
    line names it), which must then fail with a message matching ``match``. ``realistic``: a mistake of
    the size a real one has. ``caught=False``: a breakage below the check's reach (``reach`` says what
    the check can see): the check must then *pass*, so that the table of what the checks catch
    (``breakage_table``) cannot claim more than they do, nor less."""
    if not caught and not reach:
        raise ValueError("a breakage the check does not catch must say the check's reach")

    def register(change):
        SELF_CHECK_BREAKAGES.setdefault(lesson, []).append((change, dict(match=match, realistic=realistic,
                                                                         caught=caught, reach=reach)))
        return change
    return register


@kernel_helper
def dimuons_again_with_momenta_scaled(ns, cell, factor):
    """Lesson 0 again from its muons on (histograms, chunks, fit), every muon's pT times ``factor``."""
    source = cell("def to_muons(arrays)")
    assert '"pt": arrays.Muon_pt,' in source, "lesson 0 no longer builds its muons from Muon_pt as expected"
    exec(source.replace('"pt": arrays.Muon_pt,', f'"pt": arrays.Muon_pt * {factor},'), ns)
    for text in ("mass, n_two, n_opposite = dimuon_mass(muons)", "h_mass = hist.Hist(mass_axis", "h_chunked = hist.Hist(",
                 "h_jpsi = hist.Hist("):
        exec(cell(text), ns)


@breaks("0.1", match="J/psi peak", realistic=True)
def muon_momentum_scale_3_per_mille_high(ns, cell):
    """muon momentum scale 0.3 % high (a miscalibration of realistic size)"""
    dimuons_again_with_momenta_scaled(ns, cell, 1.003)


@breaks("0.1", realistic=True, caught=False,
        reach="the J/psi mass is judged within 4 standard deviations of its fit (0.8 MeV on the sample): a scale "
              "error below about 0.15 % (4.6 MeV) is not seen")
def muon_momentum_scale_1_per_mille_high(ns, cell):
    """muon momentum scale 0.1 % high"""
    dimuons_again_with_momenta_scaled(ns, cell, 1.001)


@breaks("0.1", match="chunked reading")
def chunked_read_stopping_half_way(ns, cell):
    """chunked read that stops half-way"""
    source = cell("h_chunked = hist.Hist(")
    exec(source.replace("step_size=CHUNK_SIZE, entry_stop=n_read)", "step_size=CHUNK_SIZE, entry_stop=n_read // 2)"), ns)


@kernel_helper
def selection_again_from(ns, cell, first):
    """Lesson 1.1 again from the cell containing ``first`` on: analysis, cut flow, its uncertainties, the
    purity and the cross-section."""
    texts = ["results = {name: analyse(", "cutflow = cutflow_table(results)", "mc_error = cutflow_mc_uncertainty(results)",
             "purity = final[", "def cross_section("]
    for text in texts[texts.index(first):]:
        exec(cell(text), ns)


@breaks("1.1", match="b tag should raise the ttbar purity")
def the_b_tag_removed(ns, cell):
    """b tag removed (a threshold below every discriminator value)"""
    ns["BTAG_CUT"] = -100.0
    selection_again_from(ns, cell, "results = {name: analyse(")


@breaks("1.1", match="data/simulation after the muon selection")
def the_event_weights_dropped(ns, cell):
    """event weights dropped (every simulated event counted once)"""
    exec(cell("results = {name: analyse(").replace("else ev.EventWeight\n", "else ev.EventWeight * 0 + 1\n"), ns)
    selection_again_from(ns, cell, "cutflow = cutflow_table(results)")


@breaks("1.1", match="on data equal to the prediction")
def the_background_not_subtracted(ns, cell):
    """background not subtracted in the cross-section"""
    exec(cell("def cross_section(").replace("SIGMA_REF_PB * (n_data - b_pred * lumi_scale)", "SIGMA_REF_PB * n_data"), ns)


@breaks("1.1", match="data/simulation after the muon selection", realistic=True)
def w_jets_at_its_leading_order_cross_section(ns, cell):
    """W+jets normalised 20 % low (its leading-order cross-section, without the NLO K-factor)"""
    ns["weight_scale"] = dict(ns["weight_scale"], wjets=ns["weight_scale"]["wjets"] * 0.8)
    selection_again_from(ns, cell, "cutflow = cutflow_table(results)")


@breaks("1.1", realistic=True, caught=False,
        reach="data/simulation after the muon selection is judged within 3 standard deviations of the data's and "
              "the simulation's statistics (about 3 % on the sample, mostly the simulation's); the cross-section moves "
              "by about half its statistical uncertainty")
def luminosity_4_5_percent_high(ns, cell):
    """luminosity 4.5 % high in the simulation's normalisation"""
    ns["weight_scale"] = {name: scale * 1.045 for name, scale in ns["weight_scale"].items()}
    selection_again_from(ns, cell, "cutflow = cutflow_table(results)")


@breaks("2.1", match="heavier than QCD jets in general")
def mass_sculpting_measured_on_every_qcd_jet(ns, cell):
    """mass sculpting measured on every QCD jet, not on those the CNN keeps"""
    import numpy as np

    ns["kept_qcd_median"] = {name: float(np.median(ns["qcd_mass"])) for name in ns["kept_qcd_median"]}


@kernel_helper
def layer_fractions_of(ns, generator):
    """What lessons 4.1 and 4.2 compute from their GAN's showers for their layer-fraction checks, for ``generator``."""
    ns["showers_gen"] = ns["generate"](generator, ns["E_eval"])
    ns["fractions_gen"] = ns["calo"].layer_fractions(ns["showers_gen"], ns["binning"])
    ns["fraction_gap"] = (ns["by_energy"](ns["fractions_gen"]) - ns["by_energy"](ns["fractions_eval"])).abs()


@breaks("4.1", match="layer fraction")
@breaks("4.2", match="layer fraction")
def an_untrained_generator(ns, cell):
    """generator left untrained"""
    layer_fractions_of(ns, ns["untrained"])


@breaks("4.1", match="layer fraction")
def a_generator_trained_without_the_energy(ns, cell):
    """generator trained with the incident energies shuffled against the showers"""
    # It cannot learn how a shower changes with its energy. A whole training (about a minute): in 4.1 only, whose
    # fraction checks 4.2's self-check repeats word for word (a test of test_lesson_mutations.py makes sure).
    import numpy as np
    import torch

    shuffled = ns["E_train"][np.random.default_rng(0).permutation(len(ns["E_train"]))]
    torch.manual_seed(ns["SEED"])  # the lesson's training otherwise: seed, networks, settings
    generator = ns["Generator"](ns["scaling"], ns["LATENT"], ns["HIDDEN"]).to(ns["DEVICE"])
    critic = ns["make_critic"](ns["scaling"], ns["HIDDEN"]).to(ns["DEVICE"])
    ns["train_gan"](generator, critic, ns["showers_train"], shuffled, iterations=ns["ITERATIONS"], lr=ns["LEARNING_RATE"],
                    progress=False, **ns["TRAINING"])
    layer_fractions_of(ns, generator)


@breaks("4.2", match="classifier")
def a_classifier_test_blind_to_the_showers(ns, cell):
    """classifier test that sees no shower information (only the incident energy)"""
    import numpy as np

    blind = lambda showers, E: np.log10(E)[:, None]
    test, E, reference, half = ns["classifier_test"], ns["E_eval"], ns["showers_eval"], len(ns["E_eval"]) // 2
    ns["auc"] = {("reference vs reference", "high"): test(blind(reference[:half], E[:half]), blind(reference[half:], E[half:]))[0],
                 ("GAN", "high"): test(blind(reference, E), blind(ns["showers_gen"], E))[0],
                 ("untrained generator", "high"): test(blind(reference, E), blind(ns["showers_untrained"], E))[0]}


@breaks("5.1", match="C2ST")
def an_estimator_barely_trained(ns, cell):
    """estimator barely trained (one epoch on 500 simulations)"""
    import torch

    torch.manual_seed(0)
    barely = ns["NPE"](ns["prior"], density_estimator=ns["MDN"], tracker=ns["logs"](), show_progress_bars=False)
    barely.append_simulations(ns["theta_train"][:500], ns["features"](ns["x_train_twin"][:500])).train(max_num_epochs=1)
    ns["posterior_twin"] = barely.build_posterior()


@breaks("5.1", match="realistic: a 68% interval's coverage")
def an_over_confident_estimator(ns, cell):
    """over-confident estimator (samples pulled towards their mean by a factor 2)"""
    class OverConfident:
        def __init__(self, posterior, factor=2.0):
            self.posterior, self.factor = posterior, factor

        def _shrink(self, s):
            return s.mean(0, keepdim=True) + (s - s.mean(0, keepdim=True)) / self.factor

        def sample(self, shape, x, **kwargs):
            return self._shrink(self.posterior.sample(shape, x=x, **kwargs))

        def sample_batched(self, shape, x, **kwargs):
            return self._shrink(self.posterior.sample_batched(shape, x=x, **kwargs))

    ns["posterior_real"] = OverConfident(ns["posterior_real"])


@breaks("5.1", match="realistic")
def the_estimator_of_the_wrong_simulator(ns, cell):
    """realistic analysis with the estimator trained on the twin (the wrong simulator)"""
    class WithoutRejection:
        # sampled without sbi's rejection at the prior's edges: on observations from another simulator
        # most samples leak out of the prior, and rejecting them would take minutes and gigabytes; the
        # coverage test needs no rejection to fail
        def __init__(self, posterior):
            self.posterior = posterior

        def sample(self, shape, x, **kwargs):
            return self.posterior.sample(shape, x=x, reject_outside_prior=False, **kwargs)

        def sample_batched(self, shape, x, **kwargs):
            return self.posterior.sample_batched(shape, x=x, reject_outside_prior=False, **kwargs)

    ns["posterior_real"] = WithoutRejection(ns["posterior_twin"])


@breaks("5.1", match="formula fit")
def a_formula_fit_with_no_bias_to_find(ns, cell):
    """formula fit's pseudo-experiments taken from the twin (no bias to find)"""
    import numpy as np

    counts = ns["zboson"].simulate(np.tile(ns["THETA_REF"], (ns["N_PSEUDO"], 1)), ns["N_OBS"], seed=5, realistic=False)
    ns["pseudo_fits"] = np.array([ns["formula_fit"](c) for c in counts])


@breaks("6.1", match="differs from the C.. type")
def a_numpy_ap_fixed_that_truncates(ns, cell):
    """numpy ap_fixed that truncates where it should round (the C++ comparison run again)"""
    exact = ns["ap_fixed"]
    ns["ap_fixed"] = lambda x, width, integer, rounding="TRN", overflow="WRAP", signed=True: exact(
        x, width, integer, "TRN", overflow, signed)
    exec(cell("demo.cpp"), ns)
    assert not ns["cpp_agrees"], "truncating everywhere should differ from the C++ type's rounding modes"


@breaks("6.1", match="sums overflow")
def a_16_bit_emulation_whose_sums_overflow(ns, cell):
    """16-bit emulation with too few integer bits (its sums overflow)"""
    emulation = ns["hls_from_torch"](ns["float_model"], "ap_fixed<16,3>", ns["WORK"] / "breakage_16_3")
    ns["acc_hls_16"] = ns["accuracy"](ns["hls_scores"](emulation, ns["x_test"]), ns["y_test"])


@breaks("6.1", match="narrowest uniform type should collapse")
def a_scan_that_never_narrows(ns, cell):
    """width scan that never narrows (every width emulated with the 16-bit type)"""
    ns["ptq_scan"] = {width: ns["acc_hls_16"] for width in ns["PTQ_WIDTHS"]}


@breaks("6.1", match="float network's accuracy")
@breaks("6.2", match="float network's accuracy")
def an_untrained_float_network(ns, cell):
    """untrained float network"""
    # (in 6.2, QAT against an untrained float network would meet its margin trivially: the float check stops it)
    untrained = ns["benchmark_mlp"]()
    ns["acc_float"] = ns["accuracy"](ns["torch_scores"](untrained, ns["x_test"]), ns["y_test"])


@breaks("6.2", match="QAT")
def qat_without_its_training(ns, cell):
    """QAT without the training (the rounded float weights)"""
    ns["acc_qat"] = ns["acc_ptq"]


@breaks("6.2", match="emulation reproduces only")
def the_emulation_of_another_network(ns, cell):
    """emulation compiled from another network (the QAT network before its training)"""
    rounded = ns["quantised_mlp"](ns["QAT_BITS"], ns["float_model"])
    ns["load_float_weights"](rounded, ns["float_model"])
    emulation = ns["hls_from_keras"](rounded, "breakage_rounded")
    ns["identical"], ns["same_class"], ns["largest"] = ns["emulation_agreement"](
        ns["keras_scores"](ns["qat_model"], ns["x_test"]), ns["hls_scores"](emulation, ns["x_test"]))


def _without_decorators(source: str) -> str:
    """A function's source from its ``def`` line on (its decorators, one line or several, left out)."""
    definition = ast.parse(source).body[0]
    return "\n".join(source.splitlines()[definition.lineno - 1:])


def _call(change: Callable) -> str:
    """Source that defines the helpers and ``change``, and calls it on the namespace it runs in."""
    sources = [_without_decorators(inspect.getsource(f)) for f in [*KERNEL_HELPERS, change]]
    return "\n\n".join(sources) + f"\n\n{change.__name__}(globals(), _hepml_cell)\n"


def breakages(path: Path) -> list[Breakage]:
    """The lesson's in-kernel breakages, in the order they run."""
    lesson = lesson_number(path)
    found = []
    exercises = exercise_cells(path)
    mistakes = EXERCISE_MISTAKES.get(lesson, [])
    if len(exercises) != len(mistakes):
        raise ValueError(f"lesson {lesson} has {len(exercises)} exercises and {len(mistakes)} entries in "
                         f"EXERCISE_MISTAKES (tests/lesson_breakages.py): give each exercise one plausible mistake")
    for k, ((skeleton, solution, check), (right, wrong)) in enumerate(zip(exercises, mistakes), start=1):
        if right not in solution:
            raise ValueError(f"lesson {lesson}, exercise {k}: {right!r} is not in its solution (EXERCISE_MISTAKES)")
        found.append(Breakage(f"exercise {k}'s skeleton raises until it is filled in", quiet(skeleton), "",
                              expect="NotImplementedError"))
        found.append(Breakage(f"exercise {k}'s check catches a plausible mistake ({wrong.strip()[:60]})",
                              quiet(solution.replace(right, wrong)), check, realistic=True))
    check = self_check(path)
    for change, how in SELF_CHECK_BREAKAGES.get(lesson, []):
        name = change.__doc__.strip().splitlines()[0] + ("" if how["caught"] else " (below the check's reach: it passes)")
        found.append(Breakage(name, _call(change), check, **how))
    return found


# Defined once in the lesson's kernel; each breakage is then one call of _hepml_breakage.
KERNEL_RUNNER = '''
def _hepml_breakage(code, check, expect, match, cells):
    """Run ``code`` in a copy of this kernel's namespace, then ``check``: it must raise ``expect`` (with
    ``expect`` empty: it must pass, the breakage being below the check's reach)."""
    import re as _re

    import matplotlib.pyplot as _plt

    def _hepml_cell(text):
        found = [c for c in cells if text in c]
        assert len(found) == 1, f"{text!r} is in {len(found)} code cells of the lesson, not one"
        return found[0].replace("plt.show()", "plt.close('all')")

    ns = dict(globals())
    ns["_hepml_cell"] = _hepml_cell
    try:
        try:
            exec(code, ns)
            if check:
                exec(check, ns)
        except BaseException as exc:
            if not expect and isinstance(exc, AssertionError):
                raise AssertionError(f"the check caught a breakage listed as below its reach ({type(exc).__name__}: "
                                     f"{exc}): list it as caught (tests/lesson_breakages.py)") from None
            if not expect or type(exc).__name__ != expect:
                raise
            if match and not _re.search(match, str(exc)):
                raise AssertionError(f"the check failed, but not with a message matching {match!r}: {exc}") from None
            print(f"fails as it should ({expect}): {str(exc).splitlines()[0] if str(exc) else ''}")
            return
    finally:
        _plt.close("all")
    if not expect:
        print("passes, as listed: below the check's reach")
        return
    raise AssertionError(("the check passed on the broken lesson" if check else f"the code did not raise {expect}")
                         + ": it cannot tell this breakage from the lesson")
'''


def kernel_call(breakage: Breakage, cells: list[str]) -> str:
    """The code a breakage sends to the lesson's kernel (after KERNEL_RUNNER)."""
    expect = breakage.expect if breakage.caught else ""
    return (f"_hepml_breakage({breakage.code!r}, {breakage.check!r}, {expect!r}, {breakage.match!r}, "
            f"{cells!r})")


def code_cells(path: Path) -> list[str]:
    return [c.source for c in _code_cells(path)]


# ------------------------------------------------------------------ the table of what the checks catch
# Breakages that need a training of their own run as modified copies in test_lesson_mutations.py:
# (lesson, breakage, realistic, the test that runs it), listed here so that one table shows them all.
ELSEWHERE = [
    ("1.2", "trained without the balanced weights", True, "test_bdt_lesson_check_fails_when_broken"),
    ("1.2", "AMS with Weight instead of KaggleWeight", True, "test_bdt_lesson_check_fails_when_broken"),
    ("1.2", "public test part leaked into the training", True, "test_bdt_lesson_check_fails_when_broken"),
    ("1.2", "deep trees on small leaves (the lesson's overtraining invitation)", True,
     "test_bdt_lesson_overtraining_invitation_stops_where_the_lesson_says"),
    ("2.1", "a network that does not learn (learning rate 0)", False, "test_cnn_lesson_check_fails_when_training_fails"),
    ("2.1", "a training that diverges (learning rate 1)", False, "test_cnn_lesson_check_fails_when_training_fails"),
    ("3.1, 3.2", "untrained network", False, "test_gnn_lesson_check_fails_when_broken"),
    ("3.1, 3.2", "trained on shuffled labels", False, "test_gnn_lesson_check_fails_when_broken"),
    ("3.1, 3.2", "trained on inverted labels (a sign error in the loss)", False, "test_gnn_lesson_check_fails_when_broken"),
]
TABLE_FILE = ROOT / "tests" / "breakages.md"


def breakage_table() -> str:
    """Per lesson, every breakage its checks are tested against: its size, what catches it, or the reach
    of the check that does not (tests/breakages.md; a test keeps the committed file current)."""
    lines = ["# What the lessons' checks catch", "",
             "Generated from `tests/lesson_breakages.py` (`python tests/lesson_breakages.py`); a test keeps it current.",
             "*Realistic*: a mistake of the size a real one has; *gross*: a broken lesson (untrained, inverted).",
             "Every row is a test: a caught breakage must make its check fail, one below a check's reach must let it",
             "pass (so that this table claims neither more nor less than the checks do).", "",
             "| lesson | breakage | size | caught by |", "|---|---|---|---|"]
    for path in sorted((ROOT / "notebooks").glob("*/*.ipynb")):
        lesson = lesson_number(path)
        for b in breakages(path):
            size = "realistic" if b.realistic else "gross"
            if b.name.startswith("exercise"):
                by = "the exercise's check" if "mistake" in b.name else "the skeleton itself"
            else:
                by = "the self-check" if b.caught else f"**not caught**: {b.reach}"
            lines.append(f"| {lesson} | {b.name.replace('|', '/')} | {size} | {by} |")
        lines += [f"| {where} | {name} | {'realistic' if realistic else 'gross'} | the self-check (`{test}`) |"
                  for where, name, realistic, test in ELSEWHERE if where.split(",")[0] == lesson]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    TABLE_FILE.write_text(breakage_table())
    print(f"wrote {TABLE_FILE}")
