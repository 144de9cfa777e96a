"""The TrackML format: reading events, the per-hit weights and the challenge's score.

The challenge's helper library (github.com/LAL/trackml-library) is not on PyPI (the PyPI package
called ``trackml`` is unrelated), so the book implements the three pieces it needs from the
published definitions (the challenge documentation and the accuracy-phase paper, arXiv:1904.06778,
checked against the library's code) and tests them on hand-worked cases:

* ``read_event``: the per-event CSV files with the documented dtypes (float32 coordinates and
  momenta, 64-bit particle ids);
* ``hit_weights``: each hit's weight, the product of an *order* weight (the first and last hits
  of a particle's trajectory matter most) and a *pT* weight (0.2 from 0.05 to 0.5 GeV, rising
  linearly to 1 at 3 GeV), zero for noise hits, for particles with fewer than 4 hits and (in the
  throughput phase) for secondary particles, normalised to one per event;
* ``score``: a reconstructed track counts when its *majority particle* (the particle with most of
  its hits; ties go to the smaller particle_id) supplies more than half of the track's hits and
  the track holds more than half of that particle's hits; the score is the sum of the weights of
  the majority particle's hits in the counted tracks (1 = perfect; noise hits weigh nothing but
  count in a track's size).
"""

from __future__ import annotations

import functools
import re
import tarfile
from pathlib import Path

import numpy as np
import pandas as pd

DTYPES = {
    "hits": {"hit_id": np.int32, "x": np.float32, "y": np.float32, "z": np.float32, "volume_id": np.int32,
             "layer_id": np.int32, "module_id": np.int32},
    "cells": {"hit_id": np.int32, "ch0": np.int32, "ch1": np.int32, "value": np.float32},
    "particles": {"particle_id": np.int64, "particle_type": np.int32, "vx": np.float32, "vy": np.float32,
                  "vz": np.float32, "px": np.float32, "py": np.float32, "pz": np.float32, "q": np.int32,
                  "nhits": np.int32},
    "truth": {"hit_id": np.int32, "particle_id": np.int64, "tx": np.float32, "ty": np.float32, "tz": np.float32,
              "tpx": np.float32, "tpy": np.float32, "tpz": np.float32, "weight": np.float32},
}
PARTS = tuple(DTYPES)


_EVENT_FILE = re.compile(r"event(\d{9})-(hits|cells|particles|truth)\.csv(\.gz)?")


@functools.lru_cache(maxsize=8)
def _index(source: str, stamp: float) -> dict[tuple[int, str], str]:
    """(event, part) -> file name (inside the tar, or path) of every event file under ``source``."""
    path = Path(source)
    if path.is_dir():
        names = [str(p) for p in path.rglob("event*-*.csv*")]
    else:  # an uncompressed tar is indexed by reading its headers only, not its contents
        with tarfile.open(path) as tar:
            names = [m.name for m in tar.getmembers() if m.isfile()]
    index = {}
    for name in names:
        match = _EVENT_FILE.fullmatch(Path(name).name)
        if match:
            index.setdefault((int(match.group(1)), match.group(2)), name)
    return index


def _events_index(source: Path) -> dict[tuple[int, str], str]:
    source = Path(source)
    return _index(str(source.resolve()), source.stat().st_mtime)


def event_ids(source: Path) -> list[int]:
    """The events in ``source`` (a directory, searched recursively, or a tar read in place): those
    with a hits file, by number."""
    return sorted(event for event, part in _events_index(source) if part == "hits")


def read_event(source: Path, event_id: int, parts=("hits", "particles", "truth")) -> dict[str, pd.DataFrame]:
    """The tables of one event, with the documented dtypes, from a directory or a tar (read in
    place, never unpacked). Columns a file lacks (the accuracy phase's particles have no
    particle_type) are left out; a missing part is an error naming it."""
    index = _events_index(source)
    tables = {}
    for part in parts:
        name = index.get((event_id, part))
        if name is None:
            raise FileNotFoundError(f"{source} has no {part} file for event {event_id}")
        compression = "gzip" if name.endswith(".gz") else None
        if Path(source).is_dir():
            opened = open(name, "rb")
        else:
            tar = tarfile.open(source)
            opened = tar.extractfile(name)
        with opened as fh:
            header = pd.read_csv(fh, nrows=0, compression=compression).columns
            fh.seek(0)
            tables[part] = pd.read_csv(fh, compression=compression,
                                       dtype={k: v for k, v in DTYPES[part].items() if k in header})
        if not Path(source).is_dir():
            tar.close()
    return tables


# ---------------------------------------------------------------------------------------
# weights (the library's weights.py, LAL/trackml-library at 53a165e, written out from its definitions)
ORDER_PROPOSAL = np.array([10.0, 8.0, 6.0, 5.0, 3.0, 3.0, 3.0, 5.0, 6.0])  # first hit ... last hit
ORDER_MIN_HITS, ORDER_MAX_HITS = 4, 20


def order_weights(nhits: int) -> np.ndarray:
    """Order weights of the hits of a particle with ``nhits`` hits, first to last: the proposal
    stretched over the hits by linear interpolation and normalised to one; zero below 4 hits.
    A particle with more than 20 hits is weighted as one with 20, and its hits beyond the 20th
    weigh nothing."""
    if nhits < ORDER_MIN_HITS:
        return np.zeros(nhits)
    n = min(nhits, ORDER_MAX_HITS)
    w = np.interp(np.linspace(0, len(ORDER_PROPOSAL) - 1, n), np.arange(len(ORDER_PROPOSAL)), ORDER_PROPOSAL)
    return np.concatenate([w / w.sum(), np.zeros(nhits - n)])


def pt_weight(pt) -> np.ndarray:
    """0 below 0.05 GeV, 0.2 up to 0.5 GeV, rising linearly to 1 at 3 GeV, 1 above."""
    return np.interp(np.asarray(pt, dtype=float), [0.05, 0.5, 3.0], [0.2, 0.2, 1.0], left=0.0, right=1.0)


def generation(particle_id) -> np.ndarray:
    """The generation field of particle ids (0 for particles from the event generator)."""
    return (np.asarray(particle_id, dtype=np.int64) >> 24) & 0xFFF


def hit_weights(truth: pd.DataFrame, particles: pd.DataFrame, phase: int = 2) -> np.ndarray:
    """The weight of every row of ``truth``, in its order, normalised to sum to one.

    A hit's rank along its particle's trajectory is the rank of |tz - vz|. Noise hits weigh 0.
    ``phase=2`` (the throughput phase, whose events the book's full mode reads, and the sample)
    also gives zero weight to secondary particles (generation > 0); ``phase=1`` is the accuracy
    phase's rule."""
    pid = truth["particle_id"].to_numpy()
    weights = np.zeros(len(truth))
    rows = np.flatnonzero(pid != 0)
    if len(rows):
        info = particles.set_index("particle_id")
        hits = pd.DataFrame({"row": rows, "particle_id": pid[rows],
                             "dz": np.abs(truth["tz"].to_numpy()[rows] - info.vz.reindex(pid[rows]).to_numpy())})
        hits["rank"] = hits.groupby("particle_id").dz.rank(method="first").astype(int) - 1
        hits["nhits"] = hits.groupby("particle_id").row.transform("size")
        table = {n: order_weights(n) for n in hits.nhits.unique()}
        w_order = np.array([table[n][k] for n, k in zip(hits.nhits, hits["rank"])])
        pt = np.hypot(info.px, info.py).reindex(hits.particle_id).to_numpy()
        w = w_order * pt_weight(np.nan_to_num(pt))
        if phase == 2:
            w[generation(hits.particle_id.to_numpy()) != 0] = 0.0
        weights[rows] = w
    total = weights.sum()
    return weights / total if total > 0 else weights


# ---------------------------------------------------------------------------------------
# score
def track_table(truth: pd.DataFrame, submission: pd.DataFrame) -> pd.DataFrame:
    """Per reconstructed track: its size, its majority particle, that particle's number of hits,
    the track's hits from it and their weight."""
    event = truth[["hit_id", "particle_id", "weight"]].merge(submission[["hit_id", "track_id"]], on="hit_id",
                                                              how="left", validate="one_to_one")
    if event.track_id.isna().any():
        raise ValueError(f"the submission leaves {int(event.track_id.isna().sum())} hits without a track_id; "
                         f"give every hit one (a track of one hit is allowed)")
    particle_nhits = truth.particle_id.value_counts()
    pairs = event.groupby(["track_id", "particle_id"], as_index=False).agg(n=("hit_id", "size"), w=("weight", "sum"))
    size = pairs.groupby("track_id").n.sum()
    # the majority particle: most hits; on a tie, the smaller particle_id
    pairs = pairs.sort_values(["track_id", "n", "particle_id"], ascending=[True, False, True])
    major = pairs.drop_duplicates("track_id").set_index("track_id")
    return pd.DataFrame({"nhits": size, "major_particle_id": major.particle_id, "major_nhits": major.n,
                         "major_particle_nhits": particle_nhits.reindex(major.particle_id).to_numpy(),
                         "major_weight": major.w})


def score(truth: pd.DataFrame, submission: pd.DataFrame) -> float:
    """The TrackML score of ``submission`` (hit_id, track_id) for one event's ``truth``
    (hit_id, particle_id, weight)."""
    tracks = track_table(truth, submission)
    good = (tracks.major_nhits / tracks.nhits > 0.5) & (tracks.major_nhits / tracks.major_particle_nhits > 0.5)
    return float(tracks.major_weight[good].sum() / truth.weight.sum())
