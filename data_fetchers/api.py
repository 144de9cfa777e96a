"""What notebooks call: ``get`` a dataset by name, in the mode asked for."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from .fetch import convert_once, fetch_remote_file, find_members, unpack_archive
from .modes import resolve_mode
from .registry import get_dataset
from .samples import ensure_sample, get_recipe


@dataclass(frozen=True)
class DatasetFiles:
    """Local files of a dataset, with the same file names in both modes."""

    name: str
    mode: str
    files: dict[str, Path]

    @property
    def path(self) -> Path:
        """The one file of a single-file dataset."""
        if len(self.files) != 1:
            raise ValueError(f"{self.name} has several files; use .files[name] with one of {list(self.files)}.")
        return next(iter(self.files.values()))

    def __getitem__(self, filename: str) -> Path:
        return self.files[filename]


def get(name: str, mode: str | None = None, *, sample_events: int | None = None,
        sample_seed: int | None = None, quiet: bool = False) -> DatasetFiles:
    """Return local paths to dataset ``name``: the generated sample or the verified real files."""
    dataset = get_dataset(name)
    mode = resolve_mode(mode)
    if mode == "sample":
        directory = ensure_sample(dataset, sample_events, sample_seed, quiet=quiet)
        files = {f: directory / f for f in dataset.filenames}
    else:
        files = {}
        for remote in dataset.files:
            path = fetch_remote_file(dataset, remote, progressbar=not quiet)
            if remote.unpack:
                files.update(find_members(unpack_archive(path), dataset.filenames, dataset.name))
            elif remote.convert_to:
                (member,) = dataset.members
                files[member] = convert_once(path, remote.convert_to, member)
            else:
                files[remote.member or remote.filename] = path
    return DatasetFiles(name, mode, files)


def prepare(name: str, mode: str | None = None) -> tuple[list[Path], float]:
    """``get`` a dataset quietly for the command line (in a worker process when run in parallel):
    its local paths and the seconds it took."""
    start = time.perf_counter()
    files = get(name, mode)
    return list(files.files.values()), time.perf_counter() - start


def describe(name: str, mode: str | None = None) -> str:
    """A short provenance statement, printed by notebooks so readers know what they look at."""
    dataset = get_dataset(name)
    mode = resolve_mode(mode)
    if mode == "full":
        return (f"FULL mode: {dataset.title} — real data from {dataset.record_url} "
                f"({dataset.licence}). Cite as: {dataset.citation}")
    recipe = get_recipe(dataset)
    return (f"SAMPLE mode: SIMULATED events (its recipe: {recipe.n_events:,} events; the Data page) standing in for {dataset.title} "
            f"({recipe.summary}; same file format and branch names). Set HEPML_DATA_MODE=full for the real data.")
