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

(3.2 trains with 3.1's functions: each training that is the same as one 3.1's tests already ran, on the
same inputs, settings and random states, loads its weights instead of running again.)

Lessons 0, 1.1, 2.1, 4.1, 4.2, 5.1, 6.1 and 6.2 (and every lesson's exercise checks) have breakages
that use the lesson's own data and results: they replace one of them (a miscalibrated muon momentum
scale, a background normalised to the wrong cross-section, an over-confident posterior, an untrained
network, a GAN trained on shuffled energies, an emulation of another network, a plausible wrong answer
to an exercise). Those run in the lesson's own kernel, right after
the notebook test has run it (whose passing self-check is their control), reusing everything it
read and trained: they are in ``lesson_breakages.py``, and the test at the end of this file checks
that its tables still fit the lessons.

Lessons 1.2 and 2.1 run whole (up to their self-checks) in well under a minute each, so each
breakage that needs another training is a modified copy of the lesson (or a parameter) run once;
the lessons as they are run in the notebook tests. Lesson 1.2 (BDTs on HiggsML):
trained without the balanced weights; the AMS computed with `Weight` instead of `KaggleWeight`;
the public test part leaked into the training; and the lesson's own invitation, MAX_DEPTH = 8 and
MIN_LEAF = 5, which it announces will stop at the overtraining assertion. Lesson 2.1 (top-tagging
CNN), at the cheaper setting with which test_lesson_parameters.py shows its self-check passes: a
network that does not learn (learning rate 0), and one whose training diverges (learning rate 1):
in both the best epoch is the first and the AUC falls.
"""

from __future__ import annotations

import ast
import copy
import hashlib
import inspect
import re

import numpy as np
import pytest

import lesson_breakages
from lesson_code import (BDT_LESSON, CALO_LESSON, CHEAPER, CLASSIFIER_TEST_LESSON, GNN_LESSON, ROOT, TRACKS_LESSON,
                         lesson_namespace, mutated_copy, self_check)


# ------------------------------------------------------------------ one training for two lessons
# Lesson 3.2 trains its chapter's networks again with 3.1's functions (hepml.tracking holds exactly 3.1's source:
# test_shared_lesson_code.py). Given the same inputs, settings and
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


# ---------------------------------------------------------------------------------------
# lessons 1.2 and 2.1: each breakage runs a modified copy of the lesson up to its self-check


def run_lesson_check(path, tmp_path, replacements=None, run_until=None, **parameters):
    lesson = mutated_copy(path, tmp_path, replacements or {}) if replacements else path
    ns, check = lesson_namespace(lesson, run_until=run_until, **parameters)
    exec(check, ns)


BDT_CHECK = CHEAPER["1.2"][1]


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


@pytest.mark.slow
@pytest.mark.parametrize("learning_rate", [0.0, 1.0], ids=["does not learn", "diverges"])
def test_cnn_lesson_check_fails_when_training_fails(tmp_path, learning_rate):
    lesson, check_text, cheaper = CHEAPER["2.1"]  # a setting at which the lesson's own check passes
    with pytest.raises(AssertionError, match="CNN|epoch"):
        run_lesson_check(lesson, tmp_path, run_until=check_text, LEARNING_RATE=learning_rate, **cheaper)


# ------------------------------------------------------------------ breakages run in the lessons' kernels
@pytest.mark.parametrize("path", sorted((ROOT / "notebooks").glob("*/*.ipynb")), ids=lambda p: lesson_breakages.lesson_number(p))
def test_every_exercise_has_a_plausible_mistake_and_the_breakages_fit_the_lesson(path):
    """lesson_breakages.py's tables fit the lesson as it is now (the notebook tests run them in its kernel):
    each exercise has one plausible mistake whose correct line is in its solution, and each self-check
    breakage changes names the lesson defines."""
    found = lesson_breakages.breakages(path)  # raises, saying what to mend, when the table does not fit
    exercises = lesson_breakages.exercise_cells(path)
    assert sum(b.name.startswith("exercise") for b in found) == 2 * len(exercises) > 0
    defined = set()
    for source in lesson_breakages.code_cells(path):
        tree = ast.parse(source)
        defined |= {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
        defined |= {n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
        defined |= {(a.asname or a.name).split(".")[0] for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))
                    for a in n.names}
    for change, _ in lesson_breakages.SELF_CHECK_BREAKAGES.get(lesson_breakages.lesson_number(path), []):
        used = set(re.findall(r'ns\["(\w+)"\]', inspect.getsource(change)))
        assert used <= defined, f"{change.__name__} uses {sorted(used - defined)}, which lesson {path.name} no longer defines"


def test_lesson_4_2_repeats_lesson_4_1_fraction_checks_word_for_word():
    """The GAN trained on shuffled energies (a minute's training) breaks 4.1's self-check only: 4.2's fraction
    checks must stay 4.1's, line for line, for that breakage to cover both."""
    first, second = (self_check(path).splitlines() for path in (CALO_LESSON, CLASSIFIER_TEST_LESSON))
    fraction_lines = [line for line in first if line.startswith(("all_gap", "each_gap", "assert all_gap", "assert each_gap"))]
    assert len(fraction_lines) == 4 and all(line in second for line in fraction_lines)
    tolerances = [re.search(r"\(0\.\d+, 0\.\d+", line).group(0) for check in (first, second) for line in check
                  if line.startswith("FRACTION_TOL_ALL")]
    assert len(tolerances) == 2 and tolerances[0] == tolerances[1], "4.1 and 4.2 check the fractions with other tolerances"


def test_the_committed_table_of_what_the_checks_catch_is_current():
    assert lesson_breakages.TABLE_FILE.read_text() == lesson_breakages.breakage_table(), (
        "tests/breakages.md is stale: run `python tests/lesson_breakages.py` and commit it")
    source = (ROOT / "tests" / "test_lesson_mutations.py").read_text()
    for lesson, name, _, test in lesson_breakages.ELSEWHERE:
        assert f"def {test}(" in source, f"lesson {lesson}'s breakage {name!r} names {test}, which no longer exists"


def test_every_rewritten_lesson_is_tested_against_a_mistake_of_realistic_size():
    """A lesson written to the words rules (not in lesson_lint.WORDS_PENDING) has a self-check breakage of
    realistic size that its check catches, beside its exercises' plausible mistakes."""
    from lesson_lint import WORDS_PENDING

    for path in sorted((ROOT / "notebooks").glob("*/*.ipynb")):
        lesson = lesson_breakages.lesson_number(path)
        if lesson in WORDS_PENDING:
            continue
        realistic = [b.name for b in lesson_breakages.breakages(path)
                     if b.realistic and b.caught and not b.name.startswith("exercise")]
        assert realistic, f"lesson {lesson}: no self-check breakage of realistic size (tests/lesson_breakages.py)"
