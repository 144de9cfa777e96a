"""Where each kind of code lives (README, Layout): the lesson library (``hepml``) at the bottom, the
data layer (``data_fetchers``) above it, the book's machinery (``bookkit``) above both, the catalogue
apart; no module imports another that imports it back, and each dataset's sample and realism table
sit in a package of its own. Imports are read from the source (module level and inside functions,
where a circle hides best); ``importlib`` lookups by name (a dataset's recipe or realism module) are
not imports of a module and are left out.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

from data_fetchers import DATASETS

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("hepml", "data_fetchers", "bookkit", "catalogue")
# the packages each package may import, bottom to top; tests, scripts and notebooks may import all
MAY_IMPORT = {"hepml": set(), "catalogue": set(), "data_fetchers": {"hepml"}, "bookkit": {"hepml", "data_fetchers"}}


def import_graph(root: Path = ROOT, packages=PACKAGES) -> dict[str, set[str]]:
    """Module -> the modules of ``packages`` it imports (``from . import x`` counts as importing
    the submodule ``x`` when there is one, otherwise the package)."""
    files = {}
    for package in packages:
        for path in (root / package).rglob("*.py"):
            name = ".".join(path.relative_to(root).with_suffix("").parts)
            files[name.removesuffix(".__init__")] = path
    graph = {name: set() for name in files}
    for name, path in files.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(parts + ([node.module] if node.module else []))
                else:
                    base = node.module
                targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in files else base for alias in node.names]
            else:
                continue
            for target in targets:
                # "import a.b.c" imports a.b.c (and its parents' __init__, which are not dependencies)
                while target and target not in files:
                    target = target.rpartition(".")[0]
                if target and target != name:
                    graph[name].add(target)
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The groups of modules that import each other, directly or through others (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while not group or group[-1] != v:
                group.append(stack.pop())
                on_stack.discard(group[-1])
            if len(group) > 1:
                found.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def layer_violations(graph: dict[str, set[str]], may_import=MAY_IMPORT) -> list[str]:
    out = []
    for module, targets in sorted(graph.items()):
        package = module.partition(".")[0]
        for target in sorted(targets):
            other = target.partition(".")[0]
            if other != package and other not in may_import.get(package, set()):
                allowed = " and ".join(sorted(may_import.get(package, ()))) or "no other package"
                out.append(f"{module} imports {target}: {package} may import {allowed}")
    return out


def test_no_module_imports_another_that_imports_it_back():
    assert circles(import_graph()) == []


def test_each_package_imports_only_the_layers_below_it():
    assert layer_violations(import_graph()) == []


def test_the_data_layer_loads_neither_torch_nor_the_lessons_models_nor_the_book():
    """Every module of the data layer imported (each dataset's generator and realism table included):
    the formats and formulas it takes from the lesson library come without PyTorch or a model."""
    code = textwrap.dedent("""
        import importlib, pkgutil, sys
        import data_fetchers
        for m in pkgutil.walk_packages(data_fetchers.__path__, "data_fetchers."):
            if not m.name.endswith("__main__"):
                importlib.import_module(m.name)
        print(" ".join(sorted(k for k in sys.modules if k.split(".")[0] in ("torch", "keras", "bookkit")
                              or k in ("hepml.tracking", "hepml.calogan", "hepml.fpga", "hepml.lesson"))))
    """)
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT).stdout
    assert loaded.strip() == ""


def test_each_dataset_has_its_own_package_with_its_sample_and_its_realism_table():
    samples = ROOT / "data_fetchers" / "samples"
    for dataset in DATASETS.values():
        package = samples / dataset.sample_module
        for part in ("__init__.py", "sample.py", "realism.py"):
            assert (package / part).is_file(), f"{dataset.name}: {package / part} is missing"
    loose = sorted(p.name for p in samples.glob("*.py") if p.name not in ("__init__.py", "_common.py"))
    assert loose == [], f"a dataset's code belongs in its package samples/<module>/, not {loose}"
    packages = sorted(p.name for p in samples.iterdir() if (p / "__init__.py").is_file())
    assert packages == sorted(d.sample_module for d in DATASETS.values()), "a package without a registry entry"


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


def test_a_circle_through_a_function_level_import_and_a_layer_crossed_are_found(tmp_path):
    """The breakages this layout had before: two machinery modules importing each other (one inside a
    function), and the lesson library importing the data layer."""
    _write(tmp_path, {
        "hepml/__init__.py": "",
        "hepml/book.py": "def figures():\n    from .school import slot\n    return slot\n",
        "hepml/school.py": "from .book import figures\nslot = 1\n",
        "hepml/calo.py": "import numpy\n",
        "hepml/preflight.py": "def check():\n    from data_fetchers.registry import DATASETS\n",
        "data_fetchers/__init__.py": "from .registry import DATASETS\n",
        "data_fetchers/registry.py": "from hepml import calo\nDATASETS = {}\n",
        "data_fetchers/samples/__init__.py": "",
        "data_fetchers/samples/x/sample.py": "from .. import y\nfrom hepml.calo import numpy\n",
    })
    graph = import_graph(tmp_path, ("hepml", "data_fetchers"))
    assert graph["data_fetchers.samples.x.sample"] == {"data_fetchers.samples", "hepml.calo"}
    assert circles(graph) == [["hepml.book", "hepml.school"]]
    assert layer_violations(graph, {"hepml": set(), "data_fetchers": {"hepml"}}) == [
        "hepml.preflight imports data_fetchers.registry: hepml may import no other package"]
    # and the layout as it is passes the same checks (the control)
    assert circles(import_graph()) == [] and layer_violations(import_graph()) == []
