"""CaloChallenge dataset 1: the committed binning is the official XML's, the voxel mapping and the
high-level features follow the challenge's definitions (on hand-worked showers), the reader's
capped read, and the sample generator (determinism, schema, incident-energy spectrum, physics)."""

from __future__ import annotations

import math

import h5py
import numpy as np
import pytest

from data_fetchers.samples.calochallenge import sample as generator
from hepml import calo

PHOTONS = calo.load_binning("photon")


# ------------------------------------------------------------------ geometry
@pytest.mark.parametrize("particle, voxels", [("photon", 368), ("pion", 533)])
def test_committed_binning_is_the_official_xml(shared_data, particle, voxels):
    official = calo.read_binning_xml(shared_data / "calochallenge-2022" / f"binning_dataset_1_{particle}s.xml")
    assert calo.load_binning(particle) == official
    assert official.total == voxels


def test_photon_layers_and_voxel_counts():
    assert PHOTONS.layers == [0, 1, 2, 3, 12]
    assert [PHOTONS.n_voxels(layer) for layer in PHOTONS.layers] == [8, 160, 190, 5, 5]
    assert PHOTONS.offsets == {0: 0, 1: 8, 2: 168, 3: 358, 12: 363}
    assert PHOTONS.layers_binned_in_alpha == [1, 2]


def test_voxel_index_is_angle_major_as_in_the_challenge():
    voxels = PHOTONS.voxels
    assert len(voxels) == 368 and (np.diff(voxels.index) == 1).all()
    for layer in PHOTONS.layers:
        rows = voxels[voxels.layer == layer]
        assert (PHOTONS.voxel_index(layer, rows.i_alpha.to_numpy(), rows.i_r.to_numpy()) == rows.index.to_numpy()).all()
    # layer 1: 16 radial bins, so voxel 8 + 16 * 3 + 5 is the 4th angular bin's 6th ring
    row = voxels.loc[8 + 16 * 3 + 5]
    assert (row.layer, row.i_alpha, row.i_r, row.r_low, row.r_high) == (1, 3, 5, 10.0, 12.0)
    centres = np.linspace(-math.pi, math.pi, 11)
    assert row.alpha_mid == pytest.approx((centres[3] + centres[4]) / 2)
    assert (row.x, row.y) == pytest.approx((11 * math.cos(row.alpha_mid), 11 * math.sin(row.alpha_mid)))
    # a layer with one angular bin: centre at alpha 0, so "eta" is the ring's mid-radius and "phi" is 0
    assert voxels.loc[0, ["x", "y"]].tolist() == [2.5, 0.0]


# ------------------------------------------------------------------ features
def _shower(deposits: dict[int, float]) -> np.ndarray:
    shower = np.zeros((1, PHOTONS.total))
    for index, energy in deposits.items():
        shower[0, index] = energy
    return shower


def test_features_of_a_single_voxel_deposit():
    index = PHOTONS.voxel_index(2, 7, 4)  # layer 2, 8th angular bin, ring 15-20 mm
    voxel = PHOTONS.voxels.loc[index]
    f = calo.high_level_features(_shower({index: 600.0, 0: 400.0}), np.array([2000.0]), PHOTONS).iloc[0]
    assert f.E_tot == 1000 and f.E_ratio == 0.5 and f.E_2 == 600 and f.E_0 == 400 and f.E_1 == 0
    assert (f.EC_eta_2, f.EC_phi_2) == pytest.approx((voxel.x, voxel.y))
    assert (f.width_eta_2, f.width_phi_2) == pytest.approx((0, 0), abs=1e-6)
    assert (f.EC_r_2, f.width_r_2) == pytest.approx((17.5, 0), abs=1e-6)
    assert f.EC_r_0 == 2.5  # layer 0's deposit is in its innermost ring (0-5 mm)
    assert f.sparsity_2 == pytest.approx(1 - 1 / 190) and f.sparsity_0 == pytest.approx(7 / 8)
    assert (f.EC_eta_1, f.width_eta_1, f.sparsity_1) == (0, 0, 1)  # an empty layer: zeros, not NaN


def test_centre_and_width_of_two_opposite_deposits():
    """Two equal deposits in opposite angular bins of the same ring: centre at the origin, width
    equal to the voxel centres' distance from it along each axis."""
    a, b = PHOTONS.voxel_index(1, 0, 6), PHOTONS.voxel_index(1, 5, 6)  # alpha bins -pi.. and 0..
    va = PHOTONS.voxels.loc[a]
    f = calo.high_level_features(_shower({a: 50.0, b: 50.0}), np.array([100.0]), PHOTONS).iloc[0]
    assert (f.EC_eta_1, f.EC_phi_1) == pytest.approx((0, 0), abs=1e-9)
    assert (f.width_eta_1, f.width_phi_1) == pytest.approx((abs(va.x), abs(va.y)))
    assert (f.EC_r_1, f.width_r_1) == pytest.approx((13.5, 0))  # both in the 12-15 mm ring


def test_sparsity_threshold_and_layer_fractions():
    shower = _shower({0: 0.5, 1: 2.0, 8: 3.0, 170: 4.5})
    f = calo.high_level_features(shower, np.array([10.0]), PHOTONS, threshold=1.0).iloc[0]
    assert f.sparsity_0 == pytest.approx(7 / 8)  # 0.5 MeV is at or below the threshold
    fractions = calo.layer_fractions(np.vstack([shower, np.zeros_like(shower)]), PHOTONS)
    assert fractions[0] == pytest.approx([0.25, 0.3, 0.45, 0, 0]) and (fractions[1] == 0).all()


def test_separation_power():
    rng = np.random.default_rng(1)
    x = rng.normal(size=5000)
    bins = np.linspace(-4, 4, 41)
    assert calo.separation_power(x, x, bins) == 0
    assert calo.separation_power(x, x + 100, np.linspace(-4, 104, 100)) == pytest.approx(1)
    assert 0 < calo.separation_power(x, rng.normal(size=5000), bins) < 0.01 < calo.separation_power(x, x + 1, bins)


# ------------------------------------------------------------------ files and the generator
@pytest.fixture(scope="module")
def small_sample(tmp_path_factory):
    """Two generations of a small sample (same seed), as the data layer would write it."""
    dirs = []
    for k in range(2):
        d = tmp_path_factory.mktemp(f"calo{k}")
        generator.generate(d, 605, seed=7)
        dirs.append(d)
    return dirs


def test_generator_is_deterministic_and_writes_the_registry_files(small_sample):
    from data_fetchers import DATASETS

    a, b = small_sample
    assert sorted(p.name for p in a.iterdir()) == sorted(DATASETS["calochallenge-2022-ds1"].filenames)
    for name in generator.FILENAMES:
        with h5py.File(a / name) as fa, h5py.File(b / name) as fb:
            for key in ("incident_energies", "showers"):
                assert np.array_equal(fa[key][:], fb[key][:]), (name, key)


def test_sample_has_the_real_files_schema(small_sample):
    for name in generator.FILENAMES:
        with h5py.File(small_sample[0] / name) as f:
            assert sorted(f.keys()) == ["incident_energies", "showers"]
            assert f["incident_energies"].shape == (605, 1) and f["showers"].shape == (605, 368)
            assert f["incident_energies"].dtype == np.float64 and f["showers"].dtype == np.float64
            energies, showers = f["incident_energies"][:, 0], f["showers"][:]
        assert set(energies) <= set(calo.INCIDENT_ENERGIES_MEV) and (showers >= 0).all()
        assert np.any(np.diff(energies) < 0), "rows are shuffled, as in the real files"
        ratio = showers.sum(axis=1) / energies
        # MeV, deposits comparable to the incident energy (the challenge's loaders bound the ratio by 3.1)
        assert 0.05 < ratio.min() and ratio.max() < 3.1, "energies in MeV, deposits comparable to the incident energy"


def test_incident_energy_spectrum_follows_the_real_files():
    energies = generator.incident_energies(12_100, np.random.default_rng(0))
    counts = dict(zip(*np.unique(energies, return_counts=True)))
    assert [counts[e] for e in calo.INCIDENT_ENERGIES_MEV] == [1000] * 11 + [500, 300, 200, 100]
    assert len(generator.incident_energies(15_000, np.random.default_rng(0))) == 15_000


def test_sample_showers_behave_like_photon_showers(small_sample):
    energies, showers = calo.read_showers(small_sample[0] / generator.FILENAMES[0])
    fractions = calo.layer_fractions(showers, PHOTONS)
    low, high = energies <= 1024, energies >= 65536
    # deeper showers at higher energy: less in the strips, more in the back and the tile
    assert fractions[low, 1].mean() > fractions[high, 1].mean() + 0.15
    assert fractions[high, 3:].sum(axis=1).mean() > fractions[low, 3:].sum(axis=1).mean()
    assert fractions[:, 2].mean() > 0.5, "the middle layer holds most of the energy"
    ratio = showers.sum(axis=1) / energies
    assert ratio[low].std() > 2 * ratio[high].std(), "relative resolution improves with energy"
    occupied = (showers > calo.EVALUATION_THRESHOLD_MEV).mean(axis=1)
    assert occupied[high].mean() > 2 * occupied[low].mean(), "more voxels above 1 MeV at high energy"


def test_capped_read_is_a_seeded_random_subset(small_sample):
    path = small_sample[0] / generator.FILENAMES[1]
    all_e, all_s = calo.read_showers(path)
    e, s = calo.read_showers(path, max_showers=50, seed=3, block=64)  # several blocks
    assert len(e) == 50 and s.shape == (50, 368) and s.dtype == np.float32
    rows = [int(np.flatnonzero((all_s == shower).all(axis=1) & (all_e == energy))[0]) for energy, shower in zip(e, s)]
    assert rows == sorted(rows) and rows[-1] > 300, "rows in file order, drawn from the whole file"
    again = calo.read_showers(path, max_showers=50, seed=3)
    assert np.array_equal(again[1], s), "the subset depends on the seed only, not on the block size"
    assert len(calo.read_showers(path, max_showers=10_000)[0]) == 605


def test_capped_read_of_a_full_size_file_stays_small(tmp_path):
    """Full mode reads N showers of a 121,000-shower file (the real files' size, float64, gzip) block by
    block: the reading process's peak memory grows by the subset and one block, not by the file."""
    import subprocess
    import sys

    path = tmp_path / "dataset_1_photons_1.hdf5"
    rng = np.random.default_rng(0)
    with h5py.File(path, "w") as f:
        f.create_dataset("incident_energies", data=rng.choice(calo.INCIDENT_ENERGIES_MEV, (121_000, 1)))
        showers = f.create_dataset("showers", (121_000, 368), dtype=np.float64, compression="gzip", compression_opts=1,
                                   chunks=(1000, 368))
        for start in range(0, 121_000, 11_000):  # sparse, like showers: most voxels empty
            block = np.where(rng.random((11_000, 368)) < 0.3, rng.exponential(50.0, (11_000, 368)), 0.0)
            showers[start:start + 11_000] = block
    script = (
        "import resource, sys\n"
        "from hepml import calo\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        f"e, s = calo.read_showers({str(path)!r}, max_showers=50_000)\n"
        "assert s.shape == (50_000, 368)\n"
        "print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024)\n")
    grown_mb = float(subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, text=True).stdout)
    file_mb = 121_000 * 368 * 8 / 2**20  # 340 MiB of float64 in the file
    assert grown_mb < 0.5 * file_mb, f"reading 50,000 showers grew the process by {grown_mb:.0f} MiB"


def test_lesson_reads_full_mode_files_through_a_school_mirror(small_sample, tmp_path, monkeypatch):
    """Full mode end to end without real files (none are in ../shared/data): files in the real
    layout served as a school mirror on 127.0.0.1 are downloaded under the registry's names (with
    the consent that unverified files need), then the lesson's own data cell reads capped subsets."""
    import shutil

    import nbformat

    import data_fetchers
    from data_fetchers import cache
    from lesson_code import CALO_LESSON
    from local_http import serve

    served = tmp_path / "mirror" / "calochallenge-2022-ds1"
    served.mkdir(parents=True)
    for name in generator.FILENAMES:
        shutil.copy(small_sample[1] / name, served / name)
    monkeypatch.setenv("HEPML_CACHE_DIR", str(tmp_path / "hub-cache"))
    monkeypatch.setattr(cache, "user_cache_dir", lambda: tmp_path / "user-cache" / "hepml-hands-on")
    monkeypatch.setenv("HEPML_ACCEPT_UNVERIFIED", "1")
    nb = nbformat.read(CALO_LESSON, as_version=4)
    data_cell = next(c.source for c in nb.cells if c.cell_type == "code" and "calo.read_showers(" in c.source)
    ns = {"data_fetchers": data_fetchers, "calo": calo, "pd": __import__("pandas"), "np": np,
          "DATA_MODE": "full", "N_TRAIN": 400, "N_EVAL": 200, "SEED": 2022}
    with serve(directory=tmp_path / "mirror") as url:
        monkeypatch.setenv("HEPML_MIRROR", url)
        exec(data_cell, ns)
    assert ns["MODE"] == "full" and ns["showers_train"].shape == (400, 368) and ns["showers_eval"].shape == (200, 368)
    assert not ((ns["showers_train"] > 0) & (ns["showers_train"] < calo.EVALUATION_THRESHOLD_MEV)).any()
    assert ns["files"].mode == "full"
    # the downloaded file is the served one
    with h5py.File(ns["files"]["dataset_1_photons_2.hdf5"]) as got, h5py.File(served / "dataset_1_photons_2.hdf5") as sent:
        assert np.array_equal(got["showers"][:], sent["showers"][:])


def test_the_gan_scaling_moves_every_constant_to_the_networks_device():
    """Lessons 4.1 and 4.2 run on a GPU when there is one: every tensor ShowerScaling holds (the
    per-energy response, the voxels' radii and positions, the features' mean and spread) must follow
    the networks to their device, or indexing them with the device's energy levels fails there. The
    "meta" device stands in for a GPU on a CPU-only machine; a generator's showers come out on it."""
    import torch

    from hepml.calogan import Generator, ShowerScaling, make_critic

    binning = calo.load_binning("photon")
    rng = np.random.default_rng(4)
    E = 2.0 ** rng.integers(8, 23, 600)
    showers = rng.exponential(1.0, (600, binning.total)) * E[:, None] / binning.total
    scaling = ShowerScaling(showers, E, binning, 1e-7).to("meta")
    held = [v for v in vars(scaling).values() if isinstance(v, torch.Tensor)]
    held += [t for v in vars(scaling).values() if isinstance(v, list) for t in v if isinstance(t, torch.Tensor)]
    assert len(held) >= 4 + 2 * len(binning.layers_binned_in_alpha) and {t.device.type for t in held} == {"meta"}
    x, c, level = scaling.inputs(showers[:8], E[:8])
    assert {x.device.type, c.device.type, level.device.type} == {"meta"}
    generator, critic = Generator(scaling, 4, 8).to("meta"), make_critic(scaling, 8).to("meta")
    assert generator(torch.randn(8, 4, device="meta"), c, level).device.type == "meta"
    assert critic(torch.cat([scaling.critic_input(x, level), c], dim=1)).shape == (8, 1)
