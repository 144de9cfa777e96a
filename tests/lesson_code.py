"""The lessons' own code, taken from the notebooks (never copied), for tests that run it on
other inputs: real files, small samples, broken variants."""

from __future__ import annotations

import ast
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
GNN_LESSON = ROOT / "notebooks" / "03-gnn-tracking" / "01-gnn-tracking.ipynb"
TRACKS_LESSON = ROOT / "notebooks" / "03-gnn-tracking" / "02-edges-to-tracks.ipynb"
CALO_LESSON = ROOT / "notebooks" / "04-calo-gan" / "01-calo-gan.ipynb"
CLASSIFIER_TEST_LESSON = ROOT / "notebooks" / "04-calo-gan" / "02-classifier-test.ipynb"
SBI_LESSON = ROOT / "notebooks" / "05-sbi" / "01-sbi-z-boson.ipynb"
FPGA_LESSON = ROOT / "notebooks" / "06-fpga" / "01-fpga-jet-tagger.ipynb"
QAT_LESSON = ROOT / "notebooks" / "06-fpga" / "02-qat-hgq2.ipynb"
HISTOGRAM_LESSON = ROOT / "notebooks" / "00-getting-started" / "01-root-to-histogram.ipynb"
SELECTION_LESSON = ROOT / "notebooks" / "01-root-and-bdt" / "01-root-awkward-selection.ipynb"
BDT_LESSON = ROOT / "notebooks" / "01-root-and-bdt" / "02-bdt-higgsml.ipynb"
CNN_LESSON = ROOT / "notebooks" / "02-cnn-jet-images" / "01-top-tagging-cnn.ipynb"

# The cheaper lessons, by number: the text of the self-check cell's first line (where a run of the lesson up
# to its self-check stops), and a second, cheaper setting of its parameters at which the self-check still
# passes (test_lesson_parameters.py shows it does; the mutation tests break the lesson at that setting).
CHEAPER = {
    "0.1": (HISTOGRAM_LESSON, "expected_branches = {", {"CHUNK_SIZE": 1000}),
    # lesson 1.1 with its documented cap: a fraction of the data's luminosity, the prediction scaled to it
    "1.1": (SELECTION_LESSON, "tolerance = 0.10 if MODE", {"MAX_EVENTS_PER_FILE": 2000, "CHUNK_SIZE": 500, "N_DASK_WORKERS": 1}),
    "1.2": (BDT_LESSON, "hgb, xgbm, cut = results.loc", {"MAX_TRAIN_EVENTS": 4000, "N_FOLDS": 3, "N_BOOTSTRAP": 20}),
    "2.1": (CNN_LESSON, "AUC_THRESHOLD = 0.97 if MODE", {"MAX_TRAIN_JETS": 8000, "MAX_EVAL_JETS": 3000, "MAX_EPOCHS": 8}),
}


def mutated_copy(path: Path, directory: Path, replacements: dict[str, str]) -> Path:
    """A copy of the lesson in ``directory`` with each text of ``replacements`` (which must occur in
    exactly one code cell) replaced: a deliberate breakage of the lesson's code."""
    nb = nbformat.read(path, as_version=4)
    for old, new in replacements.items():
        cells = [c for c in nb.cells if c.cell_type == "code" and old in c.source]
        assert len(cells) == 1, f"{old!r} is in {len(cells)} code cells of {path.name}, not one"
        cells[0].source = cells[0].source.replace(old, new)
    copy = Path(directory) / path.name
    nbformat.write(nb, copy)
    return copy


def lesson_namespace(path: Path, run_until: str | None = None, **parameters) -> tuple[dict, str]:
    """The lesson's setup and parameters cells (``parameters`` overriding the latter), then from
    the later cells only its imports, constants, functions and classes (no top-level
    computation); and the source of its self-check cell. With ``run_until``, every cell before
    the first one containing that text runs whole (figures are not shown)."""
    nb = nbformat.read(path, as_version=4)
    keep = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef)
    namespace: dict = {}
    setup_done = False
    running = run_until is not None
    if running:
        import matplotlib

        matplotlib.use("Agg")
    for cell in nb.cells:
        # the exercises' skeletons raise until a student fills them, and their checks test the solutions
        if cell.cell_type != "code" or {"solution", "self-check", "skeleton", "exercise-check"} & set(
                cell.metadata.get("tags", [])):
            continue
        tree = ast.parse(cell.source)
        running = running and run_until not in cell.source
        if not setup_done or running:  # the setup and parameters cells (and those before run_until) run whole
            body = tree.body
            setup_done = setup_done or "parameters" in cell.metadata.get("tags", [])
        else:  # definitions, and constants written in capitals (BARREL_LAYERS, ...)
            body = [n for n in tree.body if isinstance(n, keep) or (
                isinstance(n, ast.Assign) and all(isinstance(name, ast.Name) and name.id.isupper() for t in n.targets
                                                  for name in (t.elts if isinstance(t, ast.Tuple) else [t]))
                and not any(isinstance(x, ast.Call) for x in ast.walk(n.value)))]
        exec(compile(ast.Module(body=body, type_ignores=[]), str(path), "exec"), namespace)
        if "parameters" in cell.metadata.get("tags", []):
            namespace.update(parameters)
        if running and "plt" in namespace:
            namespace["plt"].close("all")
    return namespace, self_check(path)


def self_check(path: Path) -> str:
    """The source of the lesson's cell tagged ``self-check``."""
    cells = nbformat.read(path, as_version=4).cells
    return next(c.source for c in cells if "self-check" in c.metadata.get("tags", []))
