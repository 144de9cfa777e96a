"""The TrackML format: weights and score on hand-worked cases, the reader, the detector geometry
rebuilt from the real detectors.csv, and the sample generator (determinism, schema parity with
real events, id conventions)."""

from __future__ import annotations

import json
import tarfile

import numpy as np
import pandas as pd
import pytest

from data_fetchers.samples.trackml import geometry
from data_fetchers.samples.trackml import sample as generator
from hepml import trackml


# ------------------------------------------------------------------ weights
def test_order_weights_stretch_the_published_proposal():
    assert list(trackml.order_weights(3)) == [0, 0, 0]  # fewer than 4 hits weigh nothing
    assert np.round(trackml.order_weights(4) * 100, 1).tolist() == [41.1, 21.9, 12.3, 24.7]
    assert np.round(trackml.order_weights(10) * 100, 1).tolist() == [18.4, 15.1, 11.8, 9.8, 7.1, 5.5, 5.5, 6.3, 9.4, 11.0]
    w9 = trackml.order_weights(9)  # nine hits: the proposal itself, normalised
    assert np.allclose(w9, trackml.ORDER_PROPOSAL / trackml.ORDER_PROPOSAL.sum())
    w25 = trackml.order_weights(25)  # long loopers: weighted as 20 hits, hits beyond the 20th weigh 0
    assert np.allclose(w25[:20], trackml.order_weights(20)) and not w25[20:].any()
    for n in range(4, 21):
        assert trackml.order_weights(n).sum() == pytest.approx(1)


def test_pt_weight_breakpoints():
    assert trackml.pt_weight([0.04, 0.05, 0.3, 0.5, 1.75, 3.0, 50.0]).tolist() == pytest.approx([0, 0.2, 0.2, 0.2, 0.6, 1, 1])


def _event():
    """Particles: A (3 GeV, 4 hits), B (0.3 GeV, 5 hits), C (2 GeV, 3 hits), D (a secondary, 2 GeV,
    4 hits), and a noise hit. Hits listed out of order along z."""
    ids = {"A": 1 << 52 | 1 << 36, "B": 1 << 52 | 2 << 36, "C": 2 << 52 | 1 << 36, "D": 1 << 52 | 1 << 36 | 1 << 24 | 1 << 12 | 1}
    particles = pd.DataFrame({"particle_id": list(ids.values()), "vx": 0.0, "vy": 0.0, "vz": [0.0, 5.0, 0.0, 0.0],
                              "px": [3.0, 0.3, 2.0, 2.0], "py": 0.0, "pz": 1.0, "q": 1, "nhits": [4, 5, 3, 4]})
    rows = [("A", 30), ("A", 10), ("A", 20), ("A", 40), ("B", 15), ("B", 25), ("B", 55), ("B", 35), ("B", 45),
            ("C", 10), ("C", 20), ("C", 30), ("D", 100), ("D", 200), ("D", 300), ("D", 400), (None, 50)]
    truth = pd.DataFrame({"hit_id": np.arange(1, len(rows) + 1), "particle_id": [ids[p] if p else 0 for p, _ in rows],
                          "tx": 0.0, "ty": 0.0, "tz": [float(z) for _, z in rows]})
    return truth, particles, ids


def test_hit_weights_follow_the_published_rule():
    truth, particles, ids = _event()
    w = trackml.hit_weights(truth, particles, phase=1)
    assert w.sum() == pytest.approx(1)
    assert w[truth.particle_id == 0].sum() == 0  # noise
    assert w[truth.particle_id == ids["C"]].sum() == 0  # fewer than 4 hits
    order4 = trackml.order_weights(4)
    a = w[truth.particle_id == ids["A"]]  # hits at z = 30, 10, 20, 40: ranks 2, 0, 1, 3 along |tz - vz|
    assert a / a.sum() == pytest.approx(order4[[2, 0, 1, 3]])
    b = w[truth.particle_id == ids["B"]]  # B's vertex at z = 5: |tz - vz| = 10, 20, 50, 30, 40
    assert b / b.sum() == pytest.approx(trackml.order_weights(5)[[0, 1, 4, 2, 3]])
    assert a.sum() / b.sum() == pytest.approx(1.0 / 0.2)  # pT weights 1 and 0.2
    # the throughput phase (phase 2) also gives the secondary D nothing
    w2 = trackml.hit_weights(truth, particles, phase=2)
    assert w[truth.particle_id == ids["D"]].sum() > 0 and w2[truth.particle_id == ids["D"]].sum() == 0
    assert w2.sum() == pytest.approx(1)


# ------------------------------------------------------------------ score
def _truth_for_score():
    # particle 1: 4 hits (weights 0.1 each), particle 2: 6 hits (0.05 each), particle 3: 2 hits (0),
    # two noise hits; total weight 0.7, so the score divides by it
    pid = [1] * 4 + [2] * 6 + [3] * 2 + [0] * 2
    weight = [0.1] * 4 + [0.05] * 6 + [0.0] * 2 + [0.0] * 2
    return pd.DataFrame({"hit_id": np.arange(1, 15), "particle_id": pid, "weight": weight})


def _submit(truth, track_of):
    return pd.DataFrame({"hit_id": truth.hit_id, "track_id": track_of})


def test_a_perfect_reconstruction_scores_one():
    truth = _truth_for_score()
    assert trackml.score(truth, _submit(truth, truth.particle_id.to_numpy() * 10 + (truth.particle_id == 0) * np.arange(14))) \
        == pytest.approx(1.0)


def test_noise_hits_count_in_a_tracks_size_but_weigh_nothing():
    truth = _truth_for_score()
    tracks = np.arange(100, 114)
    tracks[[0, 1, 2, 12]] = 1  # 3 of particle 1's 4 hits and a noise hit: 3/4 > 0.5 both ways
    tracks[[4, 5, 6, 7, 8, 9]] = 2
    assert trackml.score(truth, _submit(truth, tracks)) == pytest.approx((0.3 + 0.3) / 0.7)
    tracks[[3, 13]] = 1  # now 4 of 6 hits are particle 1's: still counted, noise adds no weight
    assert trackml.score(truth, _submit(truth, tracks)) == pytest.approx((0.4 + 0.3) / 0.7)


def test_a_tie_goes_to_the_smaller_particle_id_and_does_not_count():
    truth = _truth_for_score()
    tracks = np.arange(100, 114)
    tracks[[0, 1, 4, 5]] = 7  # two hits of particle 1, two of particle 2
    table = trackml.track_table(truth, _submit(truth, tracks))
    assert table.loc[7, "major_particle_id"] == 1 and table.loc[7, "major_nhits"] == 2
    assert trackml.score(truth, _submit(truth, tracks)) == 0  # 2/4 is not more than half


def test_a_track_split_in_two_counts_only_when_one_part_has_most_hits():
    truth = _truth_for_score()
    halves = np.arange(100, 114)
    halves[4:7], halves[7:10] = 2, 3  # particle 2 split 3 + 3: neither half holds more than half
    assert trackml.score(truth, _submit(truth, halves)) == 0
    unequal = np.arange(100, 114)
    unequal[4:8], unequal[8:10] = 2, 3  # 4 + 2: the 4-hit part counts, with its 4 hits' weight
    assert trackml.score(truth, _submit(truth, unequal)) == pytest.approx(0.2 / 0.7)


def test_a_particle_with_fewer_than_4_hits_adds_nothing():
    truth = _truth_for_score()
    tracks = np.arange(100, 114)
    tracks[[10, 11]] = 5  # particle 3 perfectly found
    assert trackml.score(truth, _submit(truth, tracks)) == 0


def test_every_hit_needs_a_track():
    truth = _truth_for_score()
    with pytest.raises(ValueError, match="leaves 1 hits without a track_id"):
        trackml.score(truth, _submit(truth, np.arange(14)).iloc[1:])


# ------------------------------------------------------------------ geometry from the real detectors.csv
def test_geometry_parameters_are_derived_from_the_real_file(shared_data):
    real = pd.read_csv(shared_data / "trackml" / "detector_kaggle.csv")
    assert geometry.derive(real) == json.loads(geometry.GEOMETRY_FILE.read_text())


def test_rebuilt_modules_sit_where_the_real_ones_do(shared_data):
    from scipy.spatial import cKDTree

    real = pd.read_csv(shared_data / "trackml" / "detector_kaggle.csv")
    ours = geometry.build()
    assert list(ours.columns) == list(real.columns) and len(ours) == len(real)
    rotation = [c for c in real.columns if c.startswith("rot_")]
    for (volume, layer), modules in real.groupby(["volume_id", "layer_id"]):
        rebuilt = ours[(ours.volume_id == volume) & (ours.layer_id == layer)]
        distance, match = cKDTree(rebuilt[["cx", "cy", "cz"]].to_numpy()).query(modules[["cx", "cy", "cz"]].to_numpy())
        assert len(rebuilt) == len(modules) and len(set(match)) == len(modules)
        assert distance.max() < 0.01, (volume, layer)  # mm
        assert np.abs(rebuilt[rotation].to_numpy()[match] - modules[rotation].to_numpy()).max() < 1e-3
        for column in geometry.DIMENSIONS:
            assert np.allclose(rebuilt[column].to_numpy()[match], modules[column].to_numpy()), column


# ------------------------------------------------------------------ the generator
@pytest.fixture(scope="module")
def small_trackml(tmp_path_factory):
    """Two events at pile-up 5, generated twice."""
    directories = []
    for run in ("a", "b"):
        d = tmp_path_factory.mktemp(f"trackml-{run}")
        generator.generate(d, 2, 7, pileup=5, progress=False)
        directories.append(d / "events")
    return directories


def test_trackml_generator_is_deterministic(small_trackml):
    a, b = small_trackml
    names = sorted(p.name for p in a.iterdir())
    assert names == sorted(p.name for p in b.iterdir())
    assert names == ["detectors.csv"] + [f"event00000{e}-{part}.csv.gz" for e in (1000, 1001)
                                         for part in ("cells", "hits", "particles", "truth")]
    for name in names:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_sample_has_the_real_files_schema(small_trackml, shared_data):
    real_dir = shared_data / "trackml"
    ours = trackml.read_event(small_trackml[0], 1000, parts=trackml.PARTS)
    real = trackml.read_event(real_dir, 21000, parts=("hits", "cells", "particles"))
    for part in ("hits", "cells", "particles"):
        assert list(ours[part].columns) == list(real[part].columns), part
        assert ours[part].dtypes.to_dict() == real[part].dtypes.to_dict(), part
    accuracy_phase = pd.read_csv(real_dir / "event000001000-particles.csv.gz", nrows=1)
    assert set(accuracy_phase.columns) <= set(ours["particles"].columns)
    partial_truth = pd.read_csv(real_dir / "event000001000-truth-barrel-partial.csv.gz", nrows=1)
    assert list(ours["truth"].columns) == list(partial_truth.columns) + ["weight"]  # the partial copy lacks weight
    detectors = pd.read_csv(small_trackml[0] / "detectors.csv", nrows=1)
    assert list(detectors.columns) == list(pd.read_csv(real_dir / "detector_kaggle.csv", nrows=1).columns)
    # the id conventions: the same volumes and layers, module ids within each layer's range
    real_hits = real["hits"]
    assert set(map(tuple, ours["hits"][["volume_id", "layer_id"]].drop_duplicates().to_numpy())) <= \
        set(map(tuple, real_hits[["volume_id", "layer_id"]].drop_duplicates().to_numpy()))
    largest = real_hits.groupby(["volume_id", "layer_id"]).module_id.max()
    ours_largest = ours["hits"].groupby(["volume_id", "layer_id"]).module_id.max()
    assert (ours_largest <= largest.reindex(ours_largest.index) + 60).all()  # modules: same count per layer


def test_sample_ids_and_truth_follow_the_conventions(small_trackml):
    event = trackml.read_event(small_trackml[0], 1001, parts=trackml.PARTS)
    hits, particles, truth, cells = event["hits"], event["particles"], event["truth"], event["cells"]
    # hit ids 1..N in detector order (volume, layer, module), never grouped by particle
    assert hits.hit_id.tolist() == list(range(1, len(hits) + 1))
    assert hits.sort_values(["volume_id", "layer_id", "module_id"], kind="stable").hit_id.is_monotonic_increasing
    assert truth.hit_id.tolist() == hits.hit_id.tolist() and set(cells.hit_id) == set(hits.hit_id)
    # particle ids: vertex << 52 | primary << 36 | generation << 24 | secondary << 12 | process
    pid = particles.particle_id.to_numpy()
    vertex, primary, gen = pid >> 52, (pid >> 36) & 0xFFFF, (pid >> 24) & 0xFFF
    assert particles.particle_id.is_unique and (vertex >= 1).all() and (primary >= 1).all()
    assert ((gen == 0) == ((pid & 0xFFFFFF) == 0)).all()  # primaries have no secondary fields
    assert set(particles.q) <= {-1, 1}
    # nhits is the truth's count; noise hits have particle_id 0 and no weight; weights sum to 1
    counts = truth.particle_id[truth.particle_id != 0].value_counts()
    assert (particles.set_index("particle_id").nhits.reindex(counts.index) == counts).all()
    assert set(truth.particle_id) - {0} <= set(pid)
    assert truth.weight[truth.particle_id == 0].sum() == 0 and truth.weight.sum() == pytest.approx(1, abs=1e-5)
    assert truth.weight.to_numpy() == pytest.approx(trackml.hit_weights(truth, particles), abs=1e-6)
    # a hit sits on its module: its offset from the module centre is in the module's plane
    modules = pd.read_csv(small_trackml[0] / "detectors.csv").set_index(["volume_id", "layer_id", "module_id"])
    m = modules.loc[list(map(tuple, hits[["volume_id", "layer_id", "module_id"]].to_numpy()))]
    offset = hits[["x", "y", "z"]].to_numpy() - m[["cx", "cy", "cz"]].to_numpy()
    normal = np.einsum("ij,ij->i", offset, m[["rot_xw", "rot_yw", "rot_zw"]].to_numpy())
    assert np.abs(normal).max() < 0.01  # mm (float32 rounding)


def test_events_are_read_alike_from_a_directory_and_from_a_tar(small_trackml, tmp_path):
    archive = tmp_path / "training_part01.tar"
    with tarfile.open(archive, "w") as tar:
        tar.add(small_trackml[0], arcname="training_part01")
    assert trackml.event_ids(archive) == trackml.event_ids(small_trackml[0]) == [1000, 1001]
    from_tar = trackml.read_event(archive, 1001, parts=trackml.PARTS)
    from_dir = trackml.read_event(small_trackml[0], 1001, parts=trackml.PARTS)
    for part in trackml.PARTS:
        pd.testing.assert_frame_equal(from_tar[part], from_dir[part])
    with pytest.raises(FileNotFoundError, match="no truth file for event 999"):
        trackml.read_event(archive, 999, parts=("truth",))
