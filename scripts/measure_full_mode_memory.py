"""Measure every lesson's FULL-mode path under Binder's 2 GiB cap; write book/_data/full-mode-memory.json.

Run through ``bash scripts/measure-full-mode-memory.sh``. The real files are too large to keep here
(2.2 GB of dimuons, 11 GB of TrackML events), so, in a temporary directory that is deleted at the end:

1. **Synthetic full-mode inputs.** For each dataset, the book's own generated sample
   (``data_fetchers.get(name, "sample")``) is inflated, by resampling its events with a fixed seed,
   into files with the real files' names and format (the registry's full-mode file names, tar
   archives and csv.gz as downloaded) and the real per-event size, with at least as many events as
   the lesson's full-mode defaults read (the real file's count where the lesson reads it all or a
   random subset of it). TrackML's sample has 40 pile-up collisions per event and the real events
   200, so each synthetic event overlays four sample events (``TRACKML_OVERLAY``), which gives the
   real event's hit count. They are laid out as a filled cache, ``$HEPML_CACHE_DIR/<dataset>/full/``,
   where full mode finds a file without downloading it.
2. **Each lesson, whole, in full mode** (``DATA_MODE = "full"``) through ``tests/notebook_exec.py``:
   its kernel under the 2 GiB cgroup cap of ``tests/memory_cap.py``, exercises (solution cells)
   included, the self-check skipped (it asserts physics that resampled events need not have). The
   kernel's prelude removes the registry's checksums (the synthetic files are not the published
   ones). Every data-size parameter keeps the lesson's default; only parameters that change the run
   time and not the peak memory (epochs, iterations, trees) are lowered, each with its reason below.
3. **The note**: the peak of the capped group (page cache the kernel charges included), its largest
   sampled anonymous memory, the wall time, the synthetic inputs and the parameters, per lesson.

The inputs are written by this process, so their page cache is charged to it, not to a kernel: a
kernel's figure is what the lesson itself holds (on Binder the downloaded file's cache counts
too, but the kernel reclaims it before it would kill). ``--inputs DIR`` keeps (or reuses) the
synthetic inputs in DIR, outside the repository; ``--only KEY`` measures some lessons only.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime
import json
import os
import shutil
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from memory_cap import CAP_ENV, DEFAULT_CAP_MB, MemoryCap  # noqa: E402
from notebook_exec import parameter_values, run_notebook  # noqa: E402
from notebook_runner import machine_facts  # noqa: E402

OUTPUT = ROOT / "book" / "_data" / "full-mode-memory.json"
SEED = 20240611
MARGIN = 1.05  # "a little more" than a lesson reads, where it reads the first N events of a file
CELL_TIMEOUT_S = 1800  # a full-mode cell on 2 cores may take minutes (N-subjettiness of 100k jets)
# the self-check asserts physics that resampled events need not have; a skeleton is the exercise before the
# student's code (it raises at once): the solution cell stands for the filled-in code
SKIP_TAGS = ("self-check", "skeleton")
# an exercise's check runs (it may recompute, e.g. a discriminant), but a failed physics assertion in it
# does not stop the measurement
TOLERATE_TAGS = ("exercise-check",)
# A lesson the 2 GiB cap kills runs once more under this cap, to say which cells need how much
DIAGNOSTIC_CAP_MB = 8192

# Real files' sizes, for the inputs a lesson reads whole or subsamples: the registry's descriptions; the
# tutorial's per-file event counts as its documentation gives them (qcd, single_top, ww, wz and zz are
# in ../shared/data and match; data, ttbar, wjets and dy are not checked here). A file is never made
# smaller than the sample's (the sample's pseudo-data, 50 pb^-1 simulated, has more events than data.root).
HIGGSML_ROWS = 818_238
CALO_SHOWERS = 121_000  # per file
HLS4ML_JETS = 830_000
TUTORIAL_EVENTS = {"data": 469, "ttbar": 36_941, "wjets": 109_737, "dy": 77_729, "single_top": 5_684,
                   "ww": 4_580, "wz": 3_367, "zz": 2_421, "qcd": 142}
TRACKML_OVERLAY = 4  # sample events (40 pile-up each) per synthetic event: ~125k hits, as the real event
TRACKML_FIRST_EVENT = 21_000  # the throughput phase's training part 1 starts at event 21000
TRACKML_EXTRA_EVENTS = 2  # events beyond N_EVENTS in the archive


@dataclass
class Lesson:
    datasets: tuple[str, ...]
    # parameters that set how much data the lesson holds (kept at their defaults, and checked by
    # tests/test_full_mode_memory.py against the notebook's parameters cell)
    size_parameters: tuple[str, ...]
    # parameters lowered to save time, with why they do not change the peak memory
    lowered: dict[str, tuple[object, str]] = field(default_factory=dict)


# Lessons 3.1 and 3.2 hold the same data: the same events, graphs and networks (3.2 retrains 3.1's two)
TRACKING_LESSON = Lesson(
    ("trackml-2018",), ("N_EVENTS", "N_TEST", "N_VAL", "PT_MIN", "PHI_SLOPE_MAX", "Z0_MAX", "HIDDEN", "N_ITERATIONS"), {
        "EPOCHS": (2, "every epoch runs the same graphs, one at a time, through the same networks; the "
                      "autograd memory is one graph's, the best weights one copy (0.3 MB)"),
    })

# Lessons 4.1 and 4.2 train the same GAN on the same showers (4.2 retrains 4.1's, then adds the classifier test)
GAN_LESSON = Lesson(
    ("calochallenge-2022-ds1",), ("N_TRAIN", "N_EVAL", "BATCH", "LATENT", "HIDDEN"), {
        "ITERATIONS": (250, "generator updates, each on a batch of BATCH showers; 250 keeps one monitoring point "
                            "(every 250 iterations), which generates 2,000 showers, as every later one does"),
    })

LESSONS = {
    "notebooks/00-getting-started/01-root-to-histogram.ipynb": Lesson(
        ("cms-dimuon-2012",), ("MAX_EVENTS", "CHUNK_SIZE")),
    "notebooks/01-root-and-bdt/01-root-awkward-selection.ipynb": Lesson(
        ("cms-hep-tutorial-2012",), ("MAX_EVENTS_PER_FILE", "CHUNK_SIZE", "N_DASK_WORKERS")),
    "notebooks/01-root-and-bdt/02-bdt-higgsml.ipynb": Lesson(
        ("atlas-higgsml-2014",), ("MAX_TRAIN_EVENTS", "N_FOLDS", "N_BOOTSTRAP", "MAX_DEPTH", "MIN_LEAF"), {
            "N_TREES": (50, "boosting iterations: each adds one small tree (a few kB) to a model that keeps the "
                            "binned training data and gradients of a fixed size; time grows with the trees, "
                            "memory does not"),
        }),
    "notebooks/02-cnn-jet-images/01-top-tagging-cnn.ipynb": Lesson(
        ("top-tagging-2019",), ("MAX_TRAIN_JETS", "MAX_EVAL_JETS", "N_PIXELS", "BATCH_SIZE"), {
            "MAX_EPOCHS": (1, "epochs repeat the same batches over the same tensors; the only per-epoch state is "
                              "one copy of the best weights (0.1 MB) and a row of history"),
        }),
    "notebooks/03-gnn-tracking/01-gnn-tracking.ipynb": TRACKING_LESSON,
    "notebooks/03-gnn-tracking/02-edges-to-tracks.ipynb": TRACKING_LESSON,
    "notebooks/04-calo-gan/01-calo-gan.ipynb": GAN_LESSON,
    "notebooks/04-calo-gan/02-classifier-test.ipynb": replace(GAN_LESSON, lowered={
        **GAN_LESSON.lowered, "CLASSIFIER_EPOCHS": (3, "passes over the same classifier inputs, batch by batch")}),
    "notebooks/05-sbi/01-sbi-z-boson.ipynb": Lesson(
        ("cms-dimuon-2012",), ("MAX_EVENTS", "N_SIMULATIONS", "N_VALIDATION", "N_PSEUDO", "N_POSTERIOR")),
    "notebooks/06-fpga/01-fpga-jet-tagger.ipynb": Lesson(
        ("hls4ml-lhc-jets-hlf",), ("MAX_JETS",), {
            "EPOCHS": (3, "float training epochs (early stopping ends it anyway); each epoch reuses the same "
                          "tensors in batches of 512"),
        }),
    "notebooks/06-fpga/02-qat-hgq2.ipynb": Lesson(
        ("hls4ml-lhc-jets-hlf",), ("MAX_JETS",), {
            "EPOCHS": (3, "float training epochs (early stopping ends it anyway); each epoch reuses the same "
                          "tensors in batches of 512"),
            "QAT_EPOCHS": (2, "quantisation-aware epochs per bit width, over the same training array"),
        }),
}

# The kernel's first cell: the synthetic files are not the published ones, so the registry's checksums
# go (verify_cached checks a cached file only against a recorded checksum), as tests/test_full_mode.py does.
PRELUDE = """\
import dataclasses
from data_fetchers import registry
for _name, _ds in list(registry.DATASETS.items()):
    registry.DATASETS[_name] = dataclasses.replace(_ds, files=tuple(
        dataclasses.replace(_f, sha256=None, md5=None, adler32=None) for _f in _ds.files))
del _name, _ds"""


# ---------------------------------------------------------------- synthetic inputs, one builder per dataset
def _rng(name: str) -> np.random.Generator:
    return np.random.default_rng([SEED, sum(map(ord, name))])


def _entry(path: Path, rows: int, unit: str, **extra) -> dict:
    return {"file": path.name, "rows": int(rows), "unit": unit, "bytes": path.stat().st_size, **extra}


def build_dimuon(sample: dict[str, Path], out: Path, n_events: int) -> list[dict]:
    import uproot

    (source,) = sample.values()
    fields = ["Muon_pt", "Muon_eta", "Muon_phi", "Muon_mass", "Muon_charge"]
    arrays = uproot.open(source)["Events"].arrays(fields)
    rng = _rng("cms-dimuon-2012")
    target = out / source.name
    with uproot.recreate(target) as f:
        # as the sample writes it (a TTree, counter nMuon), in baskets of 100k events
        f.mktree("Events", {k: arrays[k].type.content for k in fields}, counter_name=lambda _branch: "nMuon")
        for start in range(0, n_events, 100_000):
            rows = rng.integers(0, len(arrays), min(100_000, n_events - start))
            f["Events"].extend({k: arrays[k][rows] for k in fields})
    return [_entry(target, n_events, "events", real="61,540,413 events, 2.2 GB; the lessons read the first MAX_EVENTS")]


def build_tutorial(sample: dict[str, Path], out: Path) -> list[dict]:
    import awkward as ak
    import uproot

    from data_fetchers.samples.cms_hep_tutorial.sample import BRANCH_ORDER, _write

    rng = _rng("cms-hep-tutorial-2012")
    work = out / "members"
    work.mkdir()
    counts = {}
    for member, source in sample.items():
        name = member.removesuffix(".root")
        arrays = uproot.open(source)["events"].arrays(BRANCH_ORDER)
        # the record's event count, or the sample's where that is larger (pseudo-data: 50 pb^-1 simulated)
        counts[member] = n = max(TUTORIAL_EVENTS[name], len(arrays))
        rows = rng.integers(0, len(arrays), n)
        columns = {}
        for branch in BRANCH_ORDER:
            values = arrays[branch][rows]
            columns[branch] = values if values.ndim > 1 else ak.to_numpy(values)
        _write(work / member, columns)
    target = out / "HEPTutorial_0.tar"
    with tarfile.open(target, "w") as tar:  # the record's layout (tests/test_full_mode.py)
        for member in sample:
            tar.add(work / member, arcname=f"HEPTutorial/files/{member}")
    shutil.rmtree(work)
    return [_entry(target, sum(counts.values()), "events", members=counts,
                   real="9 ROOT files in a 33.7 MB tar (record 212), read whole")]


def build_higgsml(sample: dict[str, Path], out: Path) -> list[dict]:
    import pandas as pd
    import uproot

    from data_fetchers.samples.atlas_higgsml.sample import COLUMNS
    from test_full_mode import resplit_higgsml  # the real file's KaggleSet parts and weight totals

    (source,) = sample.values()
    df = uproot.open(source)["higgsml"].arrays(library="pd")
    rng = _rng("atlas-higgsml-2014")
    rows = df.iloc[rng.integers(0, len(df), HIGGSML_ROWS)].reset_index(drop=True)
    rows["EventId"] = 100_000 + np.arange(HIGGSML_ROWS)
    rows["Label"] = np.where(rows["Label"] == 1, "s", "b")
    rows[["Weight", "KaggleWeight"]] = rows[["Weight", "KaggleWeight"]].astype(np.float64)
    rows = resplit_higgsml(rows, seed=SEED)
    features = [c for c in COLUMNS if c.startswith(("DER_", "PRI_"))]
    # the real CSV's text: features with at most three decimals, PRI_jet_num an integer, weights in full
    rows[features] = rows[features].astype(np.float64).round(3)
    rows["PRI_jet_num"] = rows["PRI_jet_num"].astype(np.int64)
    target = out / "atlas-higgs-challenge-2014-v2.csv.gz"
    rows[list(COLUMNS)].to_csv(target, index=False, compression={"method": "gzip", "compresslevel": 1, "mtime": 0})
    parts = {k: int(v) for k, v in pd.Series(rows["KaggleSet"]).value_counts().sort_index().items()}
    return [_entry(target, HIGGSML_ROWS, "events", kaggle_parts=parts,
                   real="818,238 rows, 65.6 MB csv.gz (record 328), converted once to ROOT and read whole")]


def build_top_tagging(sample: dict[str, Path], out: Path, n_train: int, n_eval: int) -> list[dict]:
    from data_fetchers import read_hdf_table

    rng = _rng("top-tagging-2019")
    entries = []
    for name, n in (("train.h5", n_train), ("val.h5", n_eval), ("test.h5", n_eval)):
        frame = read_hdf_table(sample[name])
        frame = frame.iloc[rng.integers(0, len(frame), n)].reset_index(drop=True)
        target = out / name
        # the sample's (and the reference's) pandas fixed format, zlib-compressed
        frame.to_hdf(target, key="table", mode="w", format="fixed", complevel=1, complib="zlib")
        real = {"train.h5": "1.2M jets", "val.h5": "400k jets", "test.h5": "400k jets"}[name]
        entries.append(_entry(target, n, "jets", real=f"{real} x 806 columns; the lesson reads the first N"))
    return entries


def build_calo(sample: dict[str, Path], out: Path) -> list[dict]:
    import h5py

    rng = _rng("calochallenge-2022-ds1")
    entries = []
    for name, source in sample.items():
        target = out / name
        with h5py.File(source, "r") as f, h5py.File(target, "w") as g:
            energies, showers = f["incident_energies"][:], f["showers"]
            rows = rng.integers(0, len(energies), CALO_SHOWERS)
            g.create_dataset("incident_energies", data=energies[rows])
            # the sample's dtype (float64), compression and chunks
            s = g.create_dataset("showers", (CALO_SHOWERS, showers.shape[1]), dtype=showers.dtype,
                                 compression=showers.compression, compression_opts=showers.compression_opts,
                                 chunks=showers.chunks)
            values = showers[:]
            for start in range(0, CALO_SHOWERS, 20_000):
                s[start:start + 20_000] = values[rows[start:start + 20_000]]
        entries.append(_entry(target, CALO_SHOWERS, "showers",
                              real="about 121,000 showers x 368 voxels per file; the lesson reads a random subset"))
    return entries


def build_hls4ml(sample: dict[str, Path], out: Path) -> list[dict]:
    import pyarrow.parquet as pq

    (source,) = sample.values()
    table = pq.read_table(source)
    compression = pq.read_metadata(source).row_group(0).column(0).compression
    rows = _rng("hls4ml-lhc-jets-hlf").integers(0, table.num_rows, HLS4ML_JETS)
    target = out / source.name
    pq.write_table(table.take(rows), target, compression=compression.lower())
    return [_entry(target, HLS4ML_JETS, "jets", real="830,000 jets x 16 features + class (OpenML 42468); "
                                                     "the lesson reads a random subset of MAX_JETS")]


def build_trackml_events(sample_dir: str, out: str, event_numbers: list[int]) -> list[dict]:
    """Synthetic events (in a worker process): each overlays TRACKML_OVERLAY sample events, with
    their vertices renumbered apart and the hits renumbered in detector order, written as the
    sample's gzipped CSVs."""
    import pandas as pd

    from data_fetchers.samples.trackml.sample import write_event
    from hepml import trackml

    source = Path(sample_dir)
    available = trackml.event_ids(source)
    facts = []
    for number in event_numbers:
        rng = _rng(f"trackml-{number}")
        chosen = rng.choice(available, TRACKML_OVERLAY, replace=False)
        parts = [trackml.read_event(source, int(e), parts=trackml.PARTS) for e in chosen]
        hits = pd.concat([p["hits"].assign(_k=k) for k, p in enumerate(parts)], ignore_index=True)
        order = np.lexsort((hits.z.to_numpy(), hits.module_id.to_numpy(), hits.layer_id.to_numpy(),
                            hits.volume_id.to_numpy()))
        new_id = np.empty(len(hits), np.int64)
        new_id[order] = np.arange(1, len(hits) + 1)
        lookups = []
        for k, p in enumerate(parts):  # (sample event k, old hit_id) -> new hit_id
            mine = hits._k.to_numpy() == k
            lookup = np.zeros(int(p["hits"].hit_id.max()) + 1, np.int64)
            lookup[hits.hit_id.to_numpy()[mine]] = new_id[mine]
            lookups.append(lookup)

        def vertex_shift(pid, k):  # vertices 1..41 of sample event k become 64k+1..64k+41; noise stays 0
            pid = pid.to_numpy()
            return np.where(pid != 0, pid + (np.int64(64 * k) << 52), 0)

        tables = {
            "hits": hits.assign(hit_id=new_id).drop(columns="_k").sort_values("hit_id", ignore_index=True),
            "cells": pd.concat([p["cells"].assign(hit_id=lookups[k][p["cells"].hit_id.to_numpy()])
                                for k, p in enumerate(parts)]).sort_values(["hit_id", "ch0", "ch1"], ignore_index=True),
            "particles": pd.concat([p["particles"].assign(particle_id=vertex_shift(p["particles"].particle_id, k))
                                    for k, p in enumerate(parts)]).sort_values("particle_id", ignore_index=True),
            "truth": pd.concat([p["truth"].assign(hit_id=lookups[k][p["truth"].hit_id.to_numpy()],
                                                  particle_id=vertex_shift(p["truth"].particle_id, k))
                                for k, p in enumerate(parts)]).sort_values("hit_id", ignore_index=True),
        }
        tables["truth"]["weight"] = trackml.hit_weights(tables["truth"], tables["particles"])
        write_event(Path(out), number, tables)
        facts.append({"event": number, "hits": len(tables["hits"]), "particles": len(tables["particles"]),
                      "sample_events": [int(e) for e in chosen]})
    return facts


def build_trackml(sample: dict[str, Path], out: Path, n_events: int, pool) -> list[dict]:
    events_dir = out / "training_part01"
    events_dir.mkdir()
    numbers = list(range(TRACKML_FIRST_EVENT, TRACKML_FIRST_EVENT + n_events))
    jobs = [pool.submit(build_trackml_events, str(sample["events"]), str(events_dir), numbers[i::2]) for i in range(2)]
    facts = sorted((f for job in jobs for f in job.result()), key=lambda f: f["event"])
    target = out / "training_part01.tar"
    with tarfile.open(target, "w") as tar:  # uncompressed, read in place, as the real part
        for path in sorted(events_dir.iterdir()):
            tar.add(path, arcname=f"training_part01/{path.name}")
    shutil.rmtree(events_dir)
    hits = [f["hits"] for f in facts]
    return [_entry(target, n_events, "events", hits_per_event={"mean": int(np.mean(hits)), "min": min(hits),
                                                              "max": max(hits)},
                   overlay=f"{TRACKML_OVERLAY} sample events (40 pile-up collisions each) per event",
                   real="about 11 GB of events with ~100k-125k hits each (mu = 200; real event 21000: 125,576 "
                        "hits); the lesson reads N_EVENTS of them in place")]


def build_inputs(cache: Path) -> tuple[dict[str, list[dict]], float]:
    """Every dataset's synthetic full-mode files in ``cache/<dataset>/full``; their description."""
    import data_fetchers

    start = time.perf_counter()
    defaults = {key: parameter_values(ROOT / key) for key in LESSONS}
    n_dimuon = int(MARGIN * max(defaults[k]["MAX_EVENTS"] for k in LESSONS if "cms-dimuon-2012" in LESSONS[k].datasets))
    cnn = defaults["notebooks/02-cnn-jet-images/01-top-tagging-cnn.ipynb"]
    n_tracks = defaults["notebooks/03-gnn-tracking/01-gnn-tracking.ipynb"]["N_EVENTS"] + TRACKML_EXTRA_EVENTS
    samples = {name: data_fetchers.get(name, "sample", quiet=True).files
               for name in dict.fromkeys(d for lesson in LESSONS.values() for d in lesson.datasets)}
    outs = {}
    for name in samples:
        outs[name] = cache / name / "full"
        outs[name].mkdir(parents=True, exist_ok=True)
    with concurrent.futures.ProcessPoolExecutor(2) as pool:
        jobs = {
            "cms-dimuon-2012": pool.submit(build_dimuon, samples["cms-dimuon-2012"], outs["cms-dimuon-2012"], n_dimuon),
            "cms-hep-tutorial-2012": pool.submit(build_tutorial, samples["cms-hep-tutorial-2012"], outs["cms-hep-tutorial-2012"]),
            "atlas-higgsml-2014": pool.submit(build_higgsml, samples["atlas-higgsml-2014"], outs["atlas-higgsml-2014"]),
            "top-tagging-2019": pool.submit(build_top_tagging, samples["top-tagging-2019"], outs["top-tagging-2019"],
                                            int(MARGIN * cnn["MAX_TRAIN_JETS"]), int(MARGIN * cnn["MAX_EVAL_JETS"])),
            "calochallenge-2022-ds1": pool.submit(build_calo, samples["calochallenge-2022-ds1"], outs["calochallenge-2022-ds1"]),
            "hls4ml-lhc-jets-hlf": pool.submit(build_hls4ml, samples["hls4ml-lhc-jets-hlf"], outs["hls4ml-lhc-jets-hlf"]),
        }
        inputs = {"trackml-2018": build_trackml(samples["trackml-2018"], outs["trackml-2018"], n_tracks, pool)}
        inputs.update({name: job.result() for name, job in jobs.items()})
    check_registry_names(cache, inputs)
    return inputs, time.perf_counter() - start


def check_registry_names(cache: Path, inputs: dict[str, list[dict]]) -> None:
    """Every synthetic file has a full-mode file name of the registry, where full mode looks for it."""
    from data_fetchers import registry

    for name, entries in inputs.items():
        expected = {f.filename for f in registry.DATASETS[name].files}
        written = {e["file"] for e in entries}
        assert written == expected, f"{name}: wrote {sorted(written)}, the registry's full-mode files are {sorted(expected)}"
        for filename in written:
            assert (cache / name / "full" / filename).is_file()


# ---------------------------------------------------------------- the lessons
def _cell(c) -> dict:
    return {"cell": c.index, "id": c.cell_id, "code": c.first_line, "peak_mb": c.peak_mb,
            "peak_anon_mb": c.peak_anon_mb, "wall_s": c.wall_s}


def diagnose(key: str, parameters: str) -> dict:
    """The same run under a larger cap: how much the lesson needs, and in which cells."""
    print(f"measure: {key} was killed by the cap; running it again under {DIAGNOSTIC_CAP_MB} MiB to see how much "
          f"it needs ...", flush=True)
    os.environ[CAP_ENV] = str(DIAGNOSTIC_CAP_MB)
    try:
        run = run_notebook(ROOT / key, parameters=parameters, prelude=PRELUDE, timeout=CELL_TIMEOUT_S,
                           skip_tags=SKIP_TAGS, tolerate_tags=TOLERATE_TAGS, check=False)
    finally:
        del os.environ[CAP_ENV]
    over = [_cell(c) for c in run.cells if c.peak_mb is not None and c.peak_mb >= DEFAULT_CAP_MB]
    print(f"measure: {key} under {DIAGNOSTIC_CAP_MB} MiB: peak {run.peak_mb} MB; cells at or above "
          f"{DEFAULT_CAP_MB} MB: {[c['cell'] for c in over]}", flush=True)
    return {"memory_cap": run.cap_note, "status": "failed" if run.error else "passed",
            "peak_mb": None if run.peak_mb is None else round(run.peak_mb + (run.start_private_mb or 0), 1),
            "peak_anon_mb": run.peak_anon_mb, "wall_s": round(run.wall_s, 1), "cells_over_2048_mb": over,
            "largest_cells": [_cell(c) for c in sorted(run.cells, key=lambda c: -(c.peak_mb or 0))[:3]],
            **({"error": run.error[-1000:]} if run.error else {})}


def measure(key: str, lesson: Lesson, inputs: dict[str, list[dict]]) -> dict:
    defaults = parameter_values(ROOT / key)
    overrides = {"DATA_MODE": "full", **{name: value for name, (value, _why) in lesson.lowered.items()}}
    parameters = "\n".join(f"{name} = {value!r}" for name, value in overrides.items())
    print(f"measure: {key} in full mode ...", flush=True)
    os.environ.pop(CAP_ENV, None)  # Binder's 2 GiB, whatever the caller's environment says
    run = run_notebook(ROOT / key, parameters=parameters, prelude=PRELUDE, timeout=CELL_TIMEOUT_S,
                       skip_tags=SKIP_TAGS, tolerate_tags=TOLERATE_TAGS, check=False)
    status = "killed by the memory cap" if run.killed_by_cap else ("failed" if run.error else "passed")
    text = run.output_text()
    if not run.error and "FULL mode" not in text:
        status, run.error = "failed", "the lesson did not print its FULL-mode provenance line"
    largest = sorted((c for c in run.cells if c.peak_mb is not None), key=lambda c: -c.peak_mb)[:3]
    result = {
        "status": status,
        # the group's peak plus what the kernel held before it joined the group (charged elsewhere)
        "peak_mb": None if run.peak_mb is None else round(run.peak_mb + (run.start_private_mb or 0), 1),
        "cgroup_peak_mb": run.peak_mb,
        "kernel_start_private_mb": run.start_private_mb,
        "peak_anon_mb": run.peak_anon_mb,
        "reached_cap": run.hit_limit,
        "wall_s": round(run.wall_s, 1),
        "memory_cap": run.cap_note,
        "inputs": {name: inputs[name] for name in lesson.datasets},
        "data_size_parameters": {name: defaults[name] for name in lesson.size_parameters},
        "parameters_overridden": {name: {"default": defaults[name], "used": value, "why": why}
                                  for name, (value, why) in lesson.lowered.items()},
        "cells_skipped": run.skipped,
        "checks_failed": run.tolerated,  # exercise checks that failed on the synthetic events (the run went on)
        "largest_cells": [_cell(c) for c in largest],
        "per_cell_peaks": run.per_cell_peaks,
    }
    if run.error:
        result["error"] = run.error[-2000:]
        result["failed_cell"] = run.failed_cell
    if run.killed_by_cap:
        result["over_the_cap"] = diagnose(key, parameters)
    print(f"measure: {key}: {status}, peak {result['peak_mb']} MB (anonymous {run.peak_anon_mb} MB), "
          f"{run.wall_s:.0f} s" + (f" — {run.error[:300]}" if run.error else ""), flush=True)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inputs", type=Path, help="keep (or reuse) the synthetic inputs in this directory")
    parser.add_argument("--only", action="append", help="a notebook key (repeatable): measure these only")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    if args.inputs is not None and args.inputs.resolve().is_relative_to(ROOT):
        parser.error("the synthetic inputs must stay outside the repository")
    keys = args.only or list(LESSONS)
    unknown = sorted(set(keys) - set(LESSONS))
    missing = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "notebooks").rglob("*.ipynb")
                     if ".ipynb_checkpoints" not in p.parts and p.relative_to(ROOT).as_posix() not in LESSONS)
    if unknown or missing:
        parser.error(f"unknown notebooks {unknown}; notebooks without a measurement plan {missing}")
    os.environ.pop(CAP_ENV, None)
    probe, why = MemoryCap.create("probe")
    cap_note = probe.describe() if probe else f"none: {why}"
    if probe is not None:
        probe.remove()
    print(f"measure: memory cap per kernel: {cap_note}", flush=True)

    start = time.perf_counter()
    tmp = None if args.inputs else tempfile.mkdtemp(prefix="hepml-full-memory-")
    base = args.inputs or Path(tmp)
    cache = base / "cache"
    facts_file = base / "inputs.json"
    try:
        if facts_file.exists():
            inputs, build_s = json.loads(facts_file.read_text()), 0.0
            print(f"measure: reusing the synthetic inputs in {base}", flush=True)
        else:
            print(f"measure: building the synthetic full-mode inputs in {base} ...", flush=True)
            inputs, build_s = build_inputs(cache)
            facts_file.write_text(json.dumps(inputs))
            print(f"measure: inputs ready in {build_s:.0f} s", flush=True)
        # the kernels: full mode finds the synthetic files in this cache; nothing of the user's is used
        os.environ.update(HEPML_CACHE_DIR=str(cache), XDG_CACHE_HOME=str(base / "user-cache"))
        for name in ("HEPML_MIRROR", "HEPML_DATA_MODE", "HEPML_ACCEPT_UNVERIFIED"):
            os.environ.pop(name, None)
        for derived in cache.glob("*/full/*.unpacked"):  # a reused cache: unpack and convert again, timed
            shutil.rmtree(derived)
        for derived in cache.glob("atlas-higgsml-2014/full/*.root"):
            derived.unlink()
        results = {key: measure(key, LESSONS[key], inputs) for key in keys}
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    total = time.perf_counter() - start

    previous = json.loads(args.output.read_text()).get("notebooks", {}) if args.output.exists() and args.only else {}
    note = {
        "date": datetime.date.today().isoformat(),
        "machine": {**machine_facts(), "cpus": os.cpu_count()},
        "memory_cap": cap_note,
        "conditions": {
            "mode": "full (DATA_MODE = \"full\"), every lesson whole: exercise solutions and checks run, skeletons "
                    "and the self-check skipped",
            "inputs": "synthetic full-mode files: the book's samples resampled with a fixed seed "
                      f"({SEED}) to the real files' names, format and per-event size (see each notebook's inputs)",
            "peak_mb": "cgroup_peak_mb, the peak usage of the kernel's capped cgroup (its processes and the page "
                       "cache they charge; the inputs' page cache is charged to the measuring process), plus "
                       "kernel_start_private_mb, the kernel's private memory when it joined the group (charged "
                       "where it was); the cap kills on the first alone",
            "largest_cells": "the cells with the largest group peaks (each cell's peak restarts from the usage "
                             "at its start, so it includes what earlier cells still hold); cell: its index in the notebook "
                             "(from 0, markdown cells counted), id: its cell id",
            "peak_anon_mb": "the largest anonymous memory of that cgroup, sampled every 0.1 s",
            "threads": f"{os.cpu_count()} CPUs (Binder gives about one: more threads hold slightly more memory)",
        },
        "inputs_build_s": round(build_s, 1),
        "total_wall_s": round(total, 1),
        "notebooks": {**previous, **results},
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(note, indent=2, sort_keys=True) + "\n")
    failed = [k for k, r in results.items() if r["status"] != "passed" or (r["peak_mb"] or 0) >= 2048]
    print(f"measure: wrote {args.output} in {total:.0f} s" + (f"; over the cap or failed: {failed}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
