"""The only way a notebook of this book gets data.

    import data_fetchers
    files = data_fetchers.get("cms-dimuon-2012")          # sample mode by default
    files = data_fetchers.get("cms-dimuon-2012", "full")  # the real open dataset

See ``registry.py`` for the datasets and the book's Data page for the same as a table.
"""

from .api import DatasetFiles, describe, get
from .cache import CACHE_ENV, cache_roots
from .errors import (ChecksumMismatchError, DataError, DownloadError, InvalidModeError,
                     SampleGenerationError, UnknownDatasetError, UnverifiedChecksumError)
from .modes import MODE_ENV, MODES, resolve_mode
from .readers import read_hdf_table
from .registry import DATASETS, get_dataset, registry_markdown

__all__ = [
    "CACHE_ENV", "DATASETS", "MODES", "MODE_ENV", "ChecksumMismatchError", "DataError", "DatasetFiles",
    "DownloadError", "InvalidModeError", "SampleGenerationError", "UnknownDatasetError",
    "UnverifiedChecksumError", "cache_roots", "describe", "get", "get_dataset", "read_hdf_table",
    "registry_markdown", "resolve_mode",
]
