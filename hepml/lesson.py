"""What every lesson does first, in one place: its setup cell calls ``setup``."""

from __future__ import annotations

import mplhep as hep
import numpy as np
import torch


def setup(seed: int, style: str, threads: int | None = None) -> tuple[np.random.Generator, torch.device]:
    """Seed NumPy and PyTorch with ``seed`` (the lesson's results do not change between runs), choose
    the device (``cuda`` when the kernel sees a GPU, else the CPU), set mplhep's plot style (``"CMS"``,
    ``"ATLAS"``, ``"ROOT"``, ...) and, if given, the number of CPU threads PyTorch uses. Returns NumPy's
    random generator and the device."""
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if threads is not None:
        torch.set_num_threads(threads)
    hep.style.use(style)
    return rng, device
