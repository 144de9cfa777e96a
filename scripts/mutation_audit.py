"""Mutation testing of the data layer and the catalogue: do the tests notice a realistic bug?

    .venv/bin/python scripts/mutation_audit.py                 # every mutant (about an hour)
    .venv/bin/python scripts/mutation_audit.py --sample 120    # a seeded sample of them
    .venv/bin/python scripts/mutation_audit.py --repo /path/to/an/older/checkout --sample 120

Each mutant is one small change of the code (a comparison flipped, ``and`` for ``or``, a
condition negated, a constant changed, a returned value dropped, a call removed). It is written
into a temporary copy of the repository and the tests that exercise that file run against it
(``-x``: the first failure kills the mutant). A mutant the tests do not notice *survives*; the
report lists the survivors with their line, to be judged one by one: a missing test, or an
equivalent mutant that changes nothing observable.

Why not mutmut, the registries' well-kept tool: mutmut 3 runs each mutant through trampolines
in a ``mutants/`` copy that the test process imports in-process; many of this package's tests
start other processes (the command line, spawned workers, another user, kernels), which did not
import that copy when tried here (mutmut 3.8.1: "No module named data_fetchers" in them). A
mutant written into a copy of the repository is seen by every process, at the price of running
the tests once per mutant.
"""

from __future__ import annotations

import argparse
import ast
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Which tests exercise which code (pytest arguments), so that a mutant runs only those.
TESTS = {
    "data_fetchers/fetch.py": ["tests/test_fetch.py", "tests/test_shared_cache.py"],
    "data_fetchers/cache.py": ["tests/test_fetch.py", "tests/test_shared_cache.py", "tests/test_data_layer.py"],
    "data_fetchers/mirror.py": ["tests/test_fetch.py", "tests/test_full_mode.py"],
    "data_fetchers/__main__.py": ["tests/test_pipeline.py", "tests/test_fetch.py", "tests/test_full_mode.py"],
    "data_fetchers/api.py": ["tests/test_data_layer.py", "tests/test_fetch.py", "tests/test_pipeline.py"],
    "data_fetchers/modes.py": ["tests/test_data_layer.py"],
    "data_fetchers/registry.py": ["tests/test_data_layer.py", "tests/test_fetch.py"],
    "data_fetchers/readers.py": ["tests/test_data_layer.py"],
    "data_fetchers/samples/__init__.py": ["tests/test_data_layer.py"],
    "catalogue/schema.py": ["tests/test_catalogue.py"],
    "catalogue/links.py": ["tests/test_catalogue.py"],
    "catalogue/render.py": ["tests/test_catalogue.py"],
    "catalogue/__main__.py": ["tests/test_catalogue.py"],
}
SWAP = {ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.Lt: ast.GtE, ast.GtE: ast.Lt, ast.Gt: ast.LtE, ast.LtE: ast.Gt,
        ast.In: ast.NotIn, ast.NotIn: ast.In, ast.Is: ast.IsNot, ast.IsNot: ast.Is,
        ast.And: ast.Or, ast.Or: ast.And, ast.Add: ast.Sub, ast.Sub: ast.Add}


@dataclass
class Mutant:
    path: str
    index: int  # the index-th mutation point of the file
    line: int
    what: str


class _Mutator(ast.NodeTransformer):
    """Visits the mutation points of a module in a fixed order; applies the ``target``-th one."""

    def __init__(self, target: int | None = None):
        self.target, self.count, self.points = target, 0, []

    def _point(self, node, what: str) -> bool:
        hit = self.count == self.target
        self.points.append((node.lineno, what))
        self.count += 1
        return hit

    def visit_JoinedStr(self, node):  # messages: changing them is not a behaviour bug
        return node

    def visit_Expr(self, node):
        if isinstance(node.value, ast.Constant):  # docstrings
            return node
        self.generic_visit(node)
        if isinstance(node.value, ast.Call) and self._point(node, f"call removed: {ast.unparse(node)[:60]}"):
            return ast.copy_location(ast.Pass(), node)
        return node

    def visit_Compare(self, node):
        self.generic_visit(node)
        op = type(node.ops[0])
        if op in SWAP and self._point(node, f"{op.__name__} -> {SWAP[op].__name__}"):
            node.ops[0] = SWAP[op]()
        return node

    def visit_BoolOp(self, node):
        self.generic_visit(node)
        if self._point(node, f"{type(node.op).__name__} -> {SWAP[type(node.op)].__name__}"):
            node.op = SWAP[type(node.op)]()
        return node

    def visit_BinOp(self, node):
        self.generic_visit(node)
        if type(node.op) in SWAP and self._point(node, f"{type(node.op).__name__} -> {SWAP[type(node.op)].__name__}"):
            node.op = SWAP[type(node.op)]()
        return node

    def visit_UnaryOp(self, node):
        self.generic_visit(node)
        if isinstance(node.op, ast.Not) and self._point(node, "not dropped"):
            return node.operand
        return node

    def visit_If(self, node):
        self.generic_visit(node)
        if self._point(node, f"condition negated: {ast.unparse(node.test)[:60]}"):
            node.test = ast.UnaryOp(ast.Not(), node.test)
        return node

    def visit_Return(self, node):
        self.generic_visit(node)
        if node.value is not None and not (isinstance(node.value, ast.Constant) and node.value.value is None) \
                and self._point(node, f"returns None instead of {ast.unparse(node.value)[:50]}"):
            node.value = ast.Constant(None)
        return node

    def visit_Constant(self, node):
        if isinstance(node.value, bool):
            if self._point(node, f"{node.value} -> {not node.value}"):
                return ast.copy_location(ast.Constant(not node.value), node)
        elif isinstance(node.value, int) and self._point(node, f"{node.value} -> {node.value + 1}"):
            return ast.copy_location(ast.Constant(node.value + 1), node)
        return node


def mutation_points(source: str) -> list[tuple[int, str]]:
    mutator = _Mutator()
    mutator.visit(ast.parse(source))
    return mutator.points


def mutate(source: str, index: int) -> str:
    tree = _Mutator(index).visit(ast.parse(source))
    return ast.unparse(ast.fix_missing_locations(tree))


def run_tests(copy_root: Path, tests: list[str], timeout: float) -> bool:
    """True when the tests fail (the mutant is killed)."""
    env = dict(os.environ, PYTHONPATH=str(copy_root), HEPML_DATA_MODE="sample")
    try:
        proc = subprocess.run([sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "-m", "not slow",
                               *tests], cwd=copy_root, env=env, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return True  # a mutant that hangs the tests is noticed
    return proc.returncode != 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repo", type=Path, default=ROOT, help="the checkout to audit (default: this one)")
    parser.add_argument("--sample", type=int, default=0, help="audit a seeded random sample of this many mutants")
    parser.add_argument("--seed", type=int, default=52)
    parser.add_argument("--timeout", type=float, default=300, help="seconds per mutant before it counts as killed")
    args = parser.parse_args(argv)
    repo = args.repo.resolve()

    mutants = []
    for path, _tests in TESTS.items():
        if (repo / path).exists():
            points = mutation_points((repo / path).read_text())
            mutants += [Mutant(path, i, line, what) for i, (line, what) in enumerate(points)]
    if args.sample and args.sample < len(mutants):
        mutants = sorted(random.Random(args.seed).sample(mutants, args.sample), key=lambda m: (m.path, m.index))
    print(f"mutation audit of {repo}: {len(mutants)} mutants", flush=True)

    with tempfile.TemporaryDirectory(prefix="hepml-mutants-") as tmp:
        copy_root = Path(tmp) / "repo"
        shutil.copytree(repo, copy_root, ignore=shutil.ignore_patterns(".git", ".venv", "_build", "__pycache__", "student"))
        if (repo.parent / "shared").is_dir():  # the real-file tests look for ../shared/data
            (Path(tmp) / "shared").symlink_to(repo.parent / "shared")
        baseline = [t for t in dict.fromkeys(t for ts in TESTS.values() for t in ts) if (copy_root / t).exists()]
        if run_tests(copy_root, baseline, 1800):
            print("the tests fail without any mutant: fix them first", file=sys.stderr)
            return 2
        survivors, start = [], time.perf_counter()
        for n, m in enumerate(mutants, 1):
            target = copy_root / m.path
            original = target.read_text()
            target.write_text(mutate(original, m.index))
            try:
                killed = run_tests(copy_root, [t for t in TESTS[m.path] if (copy_root / t).exists()], args.timeout)
            finally:
                target.write_text(original)
            if not killed:
                survivors.append(m)
            print(f"[{n}/{len(mutants)}] {'killed  ' if killed else 'SURVIVED'} {m.path}:{m.line} {m.what}", flush=True)
    killed = len(mutants) - len(survivors)
    print(f"\n{killed} of {len(mutants)} mutants killed ({killed / max(len(mutants), 1):.0%}) in "
          f"{(time.perf_counter() - start) / 60:.0f} min; {len(survivors)} survived:")
    for m in survivors:
        print(f"  {m.path}:{m.line}  {m.what}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
