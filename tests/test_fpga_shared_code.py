"""Chapter 6's shared code (hepml/fpga.py) is what lesson 6.1 teaches, not a copy that drifts.

Lesson 6.1 writes each function out where it explains it and marks it ``#@save`` (d2l's
convention); lesson 6.2 imports it from ``hepml.fpga``. Here: every saved definition in the lesson
has exactly the package's source, and everything the package offers is saved from the lesson
(or is the one setup helper, ``check_cpp_compiler``)."""

from __future__ import annotations

import ast
import inspect

import nbformat
from lesson_code import FPGA_LESSON, QAT_LESSON

SETUP_HELPERS = {"check_cpp_compiler"}


def _saved_definitions(path=FPGA_LESSON) -> dict[str, str]:
    """Name -> source of each top-level definition (or assignment) in lesson 6.1 marked #@save."""
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


def _package_definitions() -> dict[str, str]:
    import hepml.fpga as fpga

    source = inspect.getsource(fpga)
    lines = source.splitlines()
    out = {}
    for node in ast.parse(source).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            out[node.name] = "\n".join(lines[node.lineno - 1:node.end_lineno])
        elif isinstance(node, ast.Assign) and "#@save" in lines[node.lineno - 1]:
            out[node.targets[0].id] = "\n".join(lines[node.lineno - 1:node.end_lineno])
    return out


def test_lesson_saves_the_functions_lesson_6_2_imports():
    saved = _saved_definitions()
    assert {"ap_fixed", "train_float", "hls_from_torch", "integer_bits", "bit_operations", "LAYER_SHAPES"} <= set(saved)
    imported = set()
    for cell in nbformat.read(QAT_LESSON, as_version=4).cells:
        if cell.cell_type == "code":
            for node in ast.walk(ast.parse(cell.source)):
                if isinstance(node, ast.ImportFrom) and node.module == "hepml.fpga":
                    imported |= {a.name for a in node.names}
    assert imported and imported - SETUP_HELPERS <= set(saved), f"lesson 6.2 imports {sorted(imported - set(saved))} unsaved"


def _differences(path=FPGA_LESSON) -> list[str]:
    package, saved = _package_definitions(), _saved_definitions(path)
    return [name for name in saved if saved[name] != package.get(name)]


def test_every_saved_definition_is_the_package_source():
    assert not _differences(), (f"{_differences()}: lesson 6.1 and hepml/fpga.py differ (or the package lacks them); "
                                "the lesson is the reference, copy its definitions over")


def test_package_offers_only_what_the_lesson_saves():
    assert set(_package_definitions()) - SETUP_HELPERS == set(_saved_definitions())


def test_the_comparison_notices_a_lesson_edited_without_the_package(tmp_path):
    """The check can fail: a lesson whose train_float waits less long (an edit not copied over) is caught."""
    from lesson_code import mutated_copy

    edited = mutated_copy(FPGA_LESSON, tmp_path, {"patience=10, seed=SEED):  #@save": "patience=5, seed=SEED):  #@save"})
    assert _differences(edited) == ["train_float"]
