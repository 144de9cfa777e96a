"""Realism tables: does a sample have the physics of the real dataset, not only its format?

For each dataset, a handful of figures that its lessons' conclusions depend on are measured on
the generated sample and on real data (the real files in ``../shared/data`` where they exist,
otherwise a published figure, cited), and compared within a stated tolerance. The figures are
kept in ``book/_data/realism.json``, rendered on the book's Data page, and refreshed by

    python -m data_fetchers realism          # measures the samples (and real files when present)

A test recomputes them and asserts that the committed table is the current one and that every
sample figure is within its tolerance of the real one.

This module is the machinery, the same for every dataset: the ``Figure`` and ``Realism`` records, the
measurement, the committed file and the Data page's Markdown. Each dataset's own figures live beside
its sample generator, in ``data_fetchers/samples/<module>/realism.py`` (a ``REALISM = Realism(...)``),
found through the registry's ``sample_module``. Tests that train a lesson's model on the sample and on
real data (sim-to-real) import the lessons as well, so they live in ``tests/``, never here: the data
layer does not depend on the lessons.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .registry import DATASETS

REALISM_FILE = Path(__file__).resolve().parents[1] / "book" / "_data" / "realism.json"
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


# how closely a trained figure (Figure.trained) is reproduced on another machine: the benchmark MLP's
# accuracy and AUCs moved by up to 0.003 between two CPUs of the same kind of machine
TRAINED_REPRODUCIBILITY = 0.01


@dataclass(frozen=True)
class Figure:
    name: str
    tolerance: float  # absolute, or relative (a fraction of the real value) when ``relative``
    relative: bool = False
    fmt: str = "{:.3f}"
    # False: no real figure could be found (the sample's is shown, marked "not checked")
    checked: bool = True
    # True: measured with a model trained here. Another CPU sums in another order (its BLAS kernels),
    # and an early-stopped training may then stop an epoch apart: the figure is reproduced to
    # TRAINED_REPRODUCIBILITY on another machine, not to the last digit
    trained: bool = False

    def agrees(self, sample: float, real: float) -> bool:
        allowed = self.tolerance * abs(real) if self.relative else self.tolerance
        return abs(sample - real) <= allowed + 1e-12

    def describe_tolerance(self) -> str:
        if not self.checked:
            return "—"
        return f"± {self.tolerance:.0%}" if self.relative else "± " + self.fmt.format(self.tolerance)


@dataclass(frozen=True)
class Realism:
    figures: list[Figure]
    measure_sample: Callable[[Path], dict[str, float]]  # the sample's member directory or file
    measure_real: Callable[[Path], dict[str, float]]  # ../shared/data
    real_source: str  # which real files (or publications) the real figures come from
    leaves_out: str  # one line: what the sample does not reproduce
    sample_member: str = ""  # the sample's file or directory to measure (default: the first)
    published: dict[str, float] = field(default_factory=dict)  # real figures not measurable here


class _RealismTables(Mapping):
    """Dataset name -> its ``Realism``, read on first use from ``data_fetchers/samples/<module>/realism.py``
    (so that importing this module imports no dataset's code, and a dataset's module may import this one)."""

    @staticmethod
    def _module(name: str) -> str:
        return f"{__package__}.samples.{DATASETS[name].sample_module}.realism"

    def __iter__(self) -> Iterator[str]:
        return (name for name in DATASETS if importlib.util.find_spec(self._module(name)) is not None)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __getitem__(self, name: str) -> Realism:
        if name not in DATASETS or importlib.util.find_spec(self._module(name)) is None:
            raise KeyError(f"{name} has no realism table: data_fetchers/samples/<module>/realism.py defines one")
        return importlib.import_module(self._module(name)).REALISM


REALISM: Mapping[str, Realism] = _RealismTables()


def measure(name: str, shared: Path | None = SHARED_DATA) -> dict:
    """The realism table of dataset ``name``: the sample's figures (generating the sample if
    needed) and the real ones (from ``shared`` when it exists, else the committed ones)."""
    from .api import get
    from .registry import get_dataset

    spec = REALISM[name]
    files = get(name, "sample", quiet=True)
    member = spec.sample_member or get_dataset(name).filenames[0]
    sample = spec.measure_sample(files[member])
    if shared is not None and shared.is_dir():
        real = spec.measure_real(shared) | spec.published
    else:
        real = {row["quantity"]: row["real"] for row in load().get(name, {}).get("rows", [])}
    rows = [{"quantity": f.name, "real": real[f.name] if f.checked else None, "sample": sample[f.name],
             "tolerance": f.describe_tolerance(), "fmt": f.fmt,
             "agrees": f.agrees(sample[f.name], real[f.name]) if f.checked else None} for f in spec.figures]
    return {"rows": rows, "real_source": spec.real_source, "leaves_out": spec.leaves_out}


def load(path: Path = REALISM_FILE) -> dict:
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return {}


def write(tables: dict, path: Path = REALISM_FILE) -> None:
    def rounded(value):
        return round(value, 6) if isinstance(value, float) else value
    data = {name: {**t, "rows": [{k: rounded(v) for k, v in row.items()} for row in t["rows"]]} for name, t in tables.items()}
    Path(path).write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n")


def realism_markdown(path: Path = REALISM_FILE) -> str:
    """The realism tables, as Markdown for the Data page."""
    tables = load(path)
    if not tables:
        return "No realism table has been measured yet: run `python -m data_fetchers realism`."
    lines = []
    for name, table in tables.items():
        lines += [f"### `{name}`", "", "| quantity | real | sample | tolerance | agrees |", "|---|---:|---:|---:|:-:|"]
        for row in table["rows"]:
            fmt = row["fmt"]
            if row["real"] is None:
                lines.append(f"| {row['quantity']} | not published | {fmt.format(row['sample'])} | — | not checked |")
                continue
            lines.append(f"| {row['quantity']} | {fmt.format(row['real'])} | {fmt.format(row['sample'])} | "
                         f"{row['tolerance']} | {'yes' if row['agrees'] else '**no**'} |")
        lines += ["", f"Real figures: {table['real_source']}. **What the sample leaves out:** {table['leaves_out']}.", ""]
    return "\n".join(lines)
