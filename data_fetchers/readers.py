"""Readers for file formats whose usual reader is unsafe on untrusted files.

``pandas.read_hdf`` can unpickle Python objects stored in an HDF5 file, so a file from an
unverified source or a mirror could run code in a student's kernel. The top-tagging reference
files are pandas "fixed" HDF5 tables of plain numbers; ``read_hdf_table`` reads exactly those
numbers with h5py, which never unpickles, and refuses anything else.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .errors import DataError


def _names(dataset) -> list[str]:
    return [n.decode() if isinstance(n, bytes) else str(n) for n in dataset[()]]


def read_hdf_table(path: Path, key: str = "table", stop: int | None = None) -> pd.DataFrame:
    """The DataFrame stored by ``DataFrame.to_hdf(path, key=key)`` in pandas' fixed format,
    rows ``[0, stop)`` only, read without pickle. Same columns, order and dtypes as
    ``pandas.read_hdf(path, key, stop=stop)`` for such files."""
    import h5py

    with h5py.File(path, "r") as f:
        if key not in f or "axis0" not in f[key] or "block0_values" not in f[key]:
            raise DataError(f"{path} does not hold a pandas fixed-format table {key!r} of numbers (the "
                            f"format of the reference dataset); it was not read, since reading other "
                            f"layouts with pandas could unpickle code: report the file, or use the sample mode.")
        group = f[key]
        columns = _names(group["axis0"])
        blocks = {}
        i = 0
        while f"block{i}_values" in group:
            values = group[f"block{i}_values"]
            if values.dtype.kind not in "biuf":
                raise DataError(f"{path}: block {i} of {key!r} holds {values.dtype} values, not numbers; "
                                f"it was not read (pickled objects could run code).")
            block = values[:stop]
            for j, name in enumerate(_names(group[f"block{i}_items"])):
                blocks[name] = block[:, j]
            i += 1
    missing = [c for c in columns if c not in blocks]
    if missing:
        raise DataError(f"{path}: the table {key!r} lacks the values of {missing[:5]}; the file is damaged.")
    return pd.DataFrame({c: blocks[c] for c in columns}, columns=columns)
