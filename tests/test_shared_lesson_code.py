"""A chapter's shared code (hepml/fpga.py, hepml/tracking.py, hepml/calogan.py) is what its first lesson teaches, not
a copy that drifts.

The first lesson writes each function out where it explains it and marks it ``#@save`` (d2l's
convention); the chapter's next lesson imports it from the package. Here, for each chapter: every
saved definition in the lesson has exactly the package's source, and everything the package offers
is saved from the lesson (or is a setup helper the lesson does not teach)."""

from __future__ import annotations

import ast
import importlib
import inspect
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from lesson_code import CALO_LESSON, CLASSIFIER_TEST_LESSON, FPGA_LESSON, GNN_LESSON, QAT_LESSON, TRACKS_LESSON


@dataclass(frozen=True)
class Shared:
    package: str  # the module the next lesson imports
    teacher: Path  # the lesson that writes the definitions out and marks them #@save
    importer: Path  # the lesson that imports them
    expected: frozenset  # definitions the importer cannot do without
    setup_helpers: frozenset = frozenset()  # in the package only: boilerplate, not a teaching point
    edit: tuple = ()  # (text in the teacher, edited text, the definition it changes): a drift to catch


CHAPTERS = {
    "6": Shared("hepml.fpga", FPGA_LESSON, QAT_LESSON,
                frozenset({"ap_fixed", "train_float", "hls_from_torch", "integer_bits", "bit_operations", "LAYER_SHAPES"}),
                frozenset({"check_cpp_compiler"}),
                ("patience=10, seed=SEED):  #@save", "patience=5, seed=SEED):  #@save", "train_float")),
    "3": Shared("hepml.tracking", GNN_LESSON, TRACKS_LESSON,
                frozenset({"select_hits", "build_graph", "InteractionNetwork", "train", "edge_scores", "triplet_scores"}),
                edit=("keep = (np.abs(dphi / dr) < phi_slope_max) & (np.abs(z0) < z0_max)",
                      "keep = (np.abs(dphi / dr) < phi_slope_max)", "build_graph")),
    "4": Shared("hepml.calogan", CALO_LESSON, CLASSIFIER_TEST_LESSON,
                frozenset({"ShowerScaling", "Generator", "make_critic", "generate", "train_gan"}),
                edit=("(-w_estimate + gp_weight * penalty).backward()", "(-w_estimate + penalty).backward()", "train_gan")),
}


def _saved_definitions(path: Path) -> dict[str, str]:
    """Name -> source of each top-level definition (or assignment) in the lesson marked #@save."""
    saved = {}
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type != "code" or "#@save" not in cell.source:
            continue
        lines = cell.source.splitlines()
        for node in ast.parse(cell.source).body:
            if "#@save" not in lines[node.lineno - 1]:
                continue
            name = node.name if isinstance(node, (ast.FunctionDef, ast.ClassDef)) else node.targets[0].id
            saved[name] = "\n".join(lines[node.lineno - 1:node.end_lineno])
    return saved


def _package_definitions(package: str) -> dict[str, str]:
    source = inspect.getsource(importlib.import_module(package))
    lines = source.splitlines()
    out = {}
    for node in ast.parse(source).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            out[node.name] = "\n".join(lines[node.lineno - 1:node.end_lineno])
        elif isinstance(node, ast.Assign) and "#@save" in lines[node.lineno - 1]:
            out[node.targets[0].id] = "\n".join(lines[node.lineno - 1:node.end_lineno])
    return out


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_lesson_saves_the_functions_the_next_lesson_imports(chapter):
    shared = CHAPTERS[chapter]
    saved = _saved_definitions(shared.teacher)
    assert shared.expected <= set(saved)
    imported = set()
    for cell in nbformat.read(shared.importer, as_version=4).cells:
        if cell.cell_type == "code":
            for node in ast.walk(ast.parse(cell.source)):
                if isinstance(node, ast.ImportFrom) and node.module == shared.package:
                    imported |= {a.name for a in node.names}
    assert imported and imported - shared.setup_helpers <= set(saved), (
        f"{shared.importer.name} imports {sorted(imported - set(saved) - shared.setup_helpers)} unsaved")


def _differences(shared: Shared, path: Path | None = None) -> list[str]:
    package, saved = _package_definitions(shared.package), _saved_definitions(path or shared.teacher)
    return [name for name in saved if saved[name] != package.get(name)]


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_saved_definition_is_the_package_source(chapter):
    shared = CHAPTERS[chapter]
    assert not _differences(shared), (f"{_differences(shared)}: {shared.teacher.name} and {shared.package} differ (or "
                                      "the package lacks them); the lesson is the reference, copy its definitions over")


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_package_offers_only_what_the_lesson_saves(chapter):
    shared = CHAPTERS[chapter]
    assert set(_package_definitions(shared.package)) - shared.setup_helpers == set(_saved_definitions(shared.teacher))


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_the_comparison_notices_a_lesson_edited_without_the_package(chapter, tmp_path):
    """The check can fail: a lesson edited (and the edit not copied over) is caught, by name."""
    from lesson_code import mutated_copy

    shared = CHAPTERS[chapter]
    old, new, name = shared.edit
    edited = mutated_copy(shared.teacher, tmp_path, {old: new})
    assert _differences(shared, edited) == [name]
