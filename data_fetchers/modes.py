"""Data modes: ``sample`` (default, offline, small) and ``full`` (the real open dataset)."""

from __future__ import annotations

import os

from .errors import InvalidModeError

MODES = ("sample", "full")
MODE_ENV = "HEPML_DATA_MODE"


def resolve_mode(mode: str | None = None) -> str:
    """Return the data mode to use.

    Precedence: an explicit ``mode`` (a notebook's ``parameters`` cell), then the
    ``HEPML_DATA_MODE`` environment variable, then ``"sample"``.
    """
    source = "the mode argument"
    if mode is None:
        mode, source = os.environ.get(MODE_ENV) or "sample", f"${MODE_ENV}"
    normalised = str(mode).strip().lower()
    if normalised not in MODES:
        raise InvalidModeError(
            f"Unknown data mode {mode!r} (from {source}); use 'sample' (small, offline) "
            f"or 'full' (the real open dataset, downloaded once)."
        )
    return normalised
