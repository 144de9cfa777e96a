"""hepml.lesson.setup, the first call of every lesson: seeds, device and plot style."""

from __future__ import annotations

import matplotlib
import numpy as np
import torch

from hepml.lesson import setup


def test_setup_seeds_numpy_and_torch_so_that_a_rerun_draws_the_same_numbers():
    rng, _ = setup(7, style="ROOT")
    first = (rng.normal(size=3), torch.rand(3))
    rng, _ = setup(7, style="ROOT")
    assert np.array_equal(rng.normal(size=3), first[0]) and torch.equal(torch.rand(3), first[1])
    rng, _ = setup(8, style="ROOT")
    assert not np.array_equal(rng.normal(size=3), first[0])


def test_setup_chooses_cuda_only_when_a_gpu_is_visible_and_sets_style_and_threads():
    threads = torch.get_num_threads()
    try:
        _, device = setup(1, style="CMS", threads=1)
        assert device.type == ("cuda" if torch.cuda.is_available() else "cpu")
        assert torch.get_num_threads() == 1
        cms = matplotlib.rcParams["axes.prop_cycle"]
        setup(1, style="ATLAS")
        assert matplotlib.rcParams["axes.prop_cycle"] != cms, "the style was not applied"
    finally:
        torch.set_num_threads(threads)
        matplotlib.rcdefaults()
