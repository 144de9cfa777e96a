"""Full mode, end to end, offline: real open-data files served over 127.0.0.1 as a school mirror.

For every dataset with real files in ``../shared/data``, the whole full-mode path runs as a
student's kernel would run it: ``python -m data_fetchers mirror`` lays the files out from a
filled cache, a local web server serves them, ``HEPML_MIRROR`` points at it, and
``data_fetchers.get(name, "full")`` downloads, verifies, unpacks or converts them; then the
lesson's own reading code (taken from the notebook, not copied) runs on the result. Lesson 1.2
runs whole, in full mode, on the real HiggsML rows.

The served files are parts of the real datasets (1000 real dimuon events, read by lessons 0.1
and 5.1, five real tutorial files, 10,000 real HiggsML rows), so their checksums differ from the published ones: each test
pins the served file's own sha256 in the registry, so verification runs exactly as in full mode.
Without ``../shared/data`` these tests skip with one line (the ``shared_data`` fixture).
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import tarfile
from collections import Counter
from pathlib import Path

import awkward as ak
import nbformat
import numpy as np
import pandas as pd
import pytest
import uproot
import vector

import data_fetchers
from data_fetchers import cache, registry
from data_fetchers.__main__ import main as cli
from local_http import QuietFileHandler, serve

ROOT = Path(__file__).resolve().parents[1]
TUTORIAL_FILES = {"qcd.root": "qcd.root", "single_top.root": "single_top.root", "ww.root": "ww.root",
                  "wz.root": "wz.root", "zz.root": "uproot-HZZ.root"}  # uproot-HZZ.root is the record's zz.root
# The real challenge file's parts (rows) and, per part, its KaggleWeight totals per label
# (../shared/data/atlas-higgsml-2014 README): the 10,000 real rows are re-split in these proportions.
KAGGLE_PARTS = {"t": 250_000, "b": 100_000, "v": 450_000, "u": 18_238}
KAGGLE_TOTALS = {"s": 691.99, "b": 410_999.85}
HITS: Counter = Counter()


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def resplit_higgsml(rows: pd.DataFrame, seed: int = 2014) -> pd.DataFrame:
    """The first 10,000 rows are all KaggleSet 't': give them the real file's t/b/v/u parts and
    renormalise KaggleWeight per part and label, and Weight per label, to the full file's totals, as
    the real file has."""
    rows = rows.copy()
    order = np.argsort(np.random.default_rng(seed).random(len(rows)))  # a random order of the rows
    bounds = np.cumsum([0] + list(KAGGLE_PARTS.values())) / sum(KAGGLE_PARTS.values()) * len(rows)
    parts = np.empty(len(rows), dtype=object)
    for letter, lo, hi in zip(KAGGLE_PARTS, bounds[:-1].round().astype(int), bounds[1:].round().astype(int)):
        parts[order[lo:hi]] = letter
    rows["KaggleSet"] = parts
    for (letter, label), group in rows.groupby(["KaggleSet", "Label"]).groups.items():
        rows.loc[group, "KaggleWeight"] *= KAGGLE_TOTALS[label] / rows.loc[group, "KaggleWeight"].sum()
    # and Weight, over all rows, to the full file's luminosity (its sums per label are the same totals)
    for label, group in rows.groupby("Label").groups.items():
        rows.loc[group, "Weight"] *= KAGGLE_TOTALS[label] / rows.loc[group, "Weight"].sum()
    return rows


class CountingHandler(QuietFileHandler):
    def do_GET(self):
        HITS[self.path.lstrip("/")] += 1
        super().do_GET()


@pytest.fixture(scope="module")
def real_files(shared_data, tmp_path_factory) -> dict[str, Path]:
    """The real files under the registry's file names, as a full-mode download would leave them."""
    out = tmp_path_factory.mktemp("real-files")
    files = {}
    dimuon = out / "Run2012BC_DoubleMuParked_Muons.root"
    dimuon.write_bytes((shared_data / "cms-opendata" / "Run2012BC_DoubleMuParked_Muons_1000evts_rntuple_v1-0-0-0.root").read_bytes())
    files["cms-dimuon-2012"] = dimuon

    tar_path = out / "HEPTutorial_0.tar"
    with tarfile.open(tar_path, "w") as tar:
        for member, source in TUTORIAL_FILES.items():
            tar.add(shared_data / "cms-hep-tutorial-2012" / source, arcname=f"HEPTutorial/files/{member}")
    files["cms-hep-tutorial-2012"] = tar_path

    rows = pd.read_csv(shared_data / "atlas-higgsml-2014" / "atlas-higgs-challenge-2014-v2_first10000rows.csv.gz")
    csv_gz = out / "atlas-higgs-challenge-2014-v2.csv.gz"
    with gzip.open(csv_gz, "wt") as fh:
        resplit_higgsml(rows).to_csv(fh, index=False)
    files["atlas-higgsml-2014"] = csv_gz

    # TrackML: the real throughput-phase event 21000 (hits, cells, particles), and accuracy-phase
    # event 1000, whose barrel truth and particles are real but whose hits file the shared data
    # lacks: it is rebuilt from the truth's true positions (barrel layers by radius).
    from hepml.trackml import hit_weights
    d = shared_data / "trackml"
    truth = pd.read_csv(d / "event000001000-truth-barrel-partial.csv.gz")
    particles = pd.read_csv(d / "event000001000-particles.csv.gz")
    radius = np.hypot(truth.tx, truth.ty).to_numpy()
    from data_fetchers.samples.trackml.geometry import barrel_radii
    layer = np.argmin(np.abs(radius[:, None] - barrel_radii()), axis=1)
    hits = pd.DataFrame({"hit_id": truth.hit_id, "x": truth.tx, "y": truth.ty, "z": truth.tz,
                         "volume_id": np.array([8] * 4 + [13] * 4 + [17] * 2)[layer],
                         "layer_id": np.array([2, 4, 6, 8, 2, 4, 6, 8, 2, 4])[layer], "module_id": 1})
    truth["weight"] = hit_weights(truth, particles, phase=1)
    tar_path = out / "training_part01.tar"
    with tarfile.open(tar_path, "w") as tar:
        for part in ("hits", "cells", "particles"):
            tar.add(d / f"event000021000-{part}.csv.gz", arcname=f"training_part01/event000021000-{part}.csv.gz")
        for part, table in (("hits", hits), ("particles", particles), ("truth", truth)):
            member = out / f"event000001000-{part}.csv"
            table.to_csv(member, index=False)
            tar.add(member, arcname=f"training_part01/event000001000-{part}.csv")
    files["trackml-2018"] = tar_path
    return files


def pin_served_files(monkeypatch, real_files: dict[str, Path]) -> None:
    """Registry entries whose checksum is the served file's own (and, for the tutorial, whose
    members are the five real files available)."""
    for name, path in real_files.items():
        ds = registry.DATASETS[name]
        (rf,) = ds.files
        pinned = dataclasses.replace(rf, sha256=sha256(path), md5=None, size_bytes=path.stat().st_size)
        extra = {"members": tuple(TUTORIAL_FILES)} if name == "cms-hep-tutorial-2012" else {}
        monkeypatch.setitem(registry.DATASETS, name, dataclasses.replace(ds, files=(pinned,), **extra))


@pytest.fixture(scope="module")
def mirror(real_files, tmp_path_factory):
    """A school mirror laid out by the CLI from a filled cache, served on 127.0.0.1."""
    filled = tmp_path_factory.mktemp("filled-cache")
    for name, path in real_files.items():
        target = filled / name / "full" / registry.DATASETS[name].files[0].filename
        target.parent.mkdir(parents=True)
        target.write_bytes(path.read_bytes())
    directory = tmp_path_factory.mktemp("mirror")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HEPML_CACHE_DIR", str(filled))
        pin_served_files(mp, real_files)
        assert cli(["mirror", str(directory), *real_files]) == 0
    for name, path in real_files.items():
        served = directory / name / path.name
        assert served.read_bytes() == path.read_bytes() and served.stat().st_mode & 0o444 == 0o444
    with serve(CountingHandler, directory=directory) as url:
        yield url


@pytest.fixture
def student(mirror, real_files, tmp_path, monkeypatch):
    """A student's machine at the school: empty caches, HEPML_MIRROR set, the canonical hosts
    unreachable (the registry's URLs are replaced by a closed port)."""
    monkeypatch.setenv("HEPML_CACHE_DIR", str(tmp_path / "hub-cache"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))
    monkeypatch.setattr(cache, "user_cache_dir", lambda: tmp_path / "user-cache" / "hepml-hands-on")
    monkeypatch.setenv("HEPML_MIRROR", f"http://127.0.0.1:9/nowhere {mirror}")  # a dead mirror first
    monkeypatch.delenv("HEPML_ACCEPT_UNVERIFIED", raising=False)
    pin_served_files(monkeypatch, real_files)
    HITS.clear()
    return tmp_path


def lesson_cell(notebook: str, marker: str) -> str:
    nb = nbformat.read(ROOT / "notebooks" / notebook, as_version=4)
    return next(c.source for c in nb.cells if c.cell_type == "code" and marker in c.source)


def test_dimuon_full_mode_through_the_mirror(student):
    files = data_fetchers.get("cms-dimuon-2012", "full", quiet=True)
    assert HITS == Counter({"cms-dimuon-2012/Run2012BC_DoubleMuParked_Muons.root": 1})
    vector.register_awkward()
    ns = {"ak": ak, "np": np, "MODE": "full", "MAX_EVENTS": 2_000_000,
          "events_tree": uproot.open(files.path)["Events"]}
    exec(lesson_cell("00-getting-started/01-root-to-histogram.ipynb", "def to_muons("), ns)
    exec(lesson_cell("00-getting-started/01-root-to-histogram.ipynb", "def dimuon_mass("), ns)
    assert ns["cutflow"]["read"] == 1000
    assert 0 < ns["cutflow"]["opposite charge"] <= ns["cutflow"]["exactly two muons"] < 1000
    assert ak.all(ns["mass"] > 0)


@pytest.mark.parametrize("max_events, candidates", [(100_000, 81), (500, None)])
def test_sbi_lesson_reads_the_real_dimuon_file_through_the_mirror(student, max_events, candidates):
    """Lesson 5.1's data cell in full mode: the capped read of the real file gives the Z candidates
    the reader's test counts (81 in these 1000 real events), fewer with a smaller cap."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import mplhep as hep

    from hepml import zboson

    ns = {"np": np, "plt": plt, "hep": hep, "data_fetchers": data_fetchers, "zboson": zboson,
          "DATA_MODE": "full", "MAX_EVENTS": max_events}
    exec(lesson_cell("05-sbi/01-sbi-z-boson.ipynb", "zboson.read_dimuon_masses("), ns)
    plt.close("all")
    assert ns["MODE"] == "full" and HITS == Counter({"cms-dimuon-2012/Run2012BC_DoubleMuParked_Muons.root": 1})
    assert ns["counts_obs"].sum() == ns["N_OBS"] and ns["counts_obs"].shape == (40,)
    if candidates is None:
        assert 0 < ns["N_OBS"] < 81
    else:
        assert ns["N_OBS"] == candidates


def test_tutorial_full_mode_through_the_mirror(student):
    files = data_fetchers.get("cms-hep-tutorial-2012", "full", quiet=True)
    assert set(files.files) == set(TUTORIAL_FILES) and HITS["cms-hep-tutorial-2012/HEPTutorial_0.tar"] == 1
    vector.register_awkward()
    ns = {"ak": ak, "np": np, "uproot": uproot, "files": files, "MAX_EVENTS_PER_FILE": None, "BTAG_CUT": 1.74}
    exec(lesson_cell("01-root-and-bdt/01-root-awkward-selection.ipynb", "def read(").split("\n\nevents, fraction_read")[0], ns)
    exec(lesson_cell("01-root-and-bdt/01-root-awkward-selection.ipynb", "def analyse(").split("\nresults =")[0], ns)
    # the real files' yields, as the shared data's README gives them (sum of EventWeight)
    expected = {"qcd": 7.9e4, "single_top": 312, "ww": 230, "wz": 70, "zz": 16.9}
    for name, total in expected.items():
        events, fraction = ns["read"](name)
        assert fraction == 1.0  # no cap: the whole file read
        steps, weight, _ = ns["analyse"](events, False)
        assert float(ak.sum(weight)) == pytest.approx(total, rel=0.02), name
        counts = [int(ak.sum(mask)) for mask in steps.values()]
        assert counts == sorted(counts, reverse=True) and counts[0] == len(events)


def test_higgsml_full_mode_through_the_mirror_is_converted_once(student):
    path = data_fetchers.get("atlas-higgsml-2014", "full", quiet=True).path
    assert path.name == "atlas-higgs-challenge-2014-v2.root"
    assert data_fetchers.get("atlas-higgsml-2014", "full", quiet=True).path == path  # cached, not converted again
    assert HITS["atlas-higgsml-2014/atlas-higgs-challenge-2014-v2.csv.gz"] == 1
    df = uproot.open(path)["higgsml"].arrays(library="pd")
    assert len(df) == 10_000 and set(map(chr, df["KaggleSet"])) == set(KAGGLE_PARTS)
    for letter in "tbv":
        part = df[df["KaggleSet"] == ord(letter)]
        assert part.loc[part["Label"] == 1, "KaggleWeight"].sum() == pytest.approx(KAGGLE_TOTALS["s"], rel=1e-4)


@pytest.mark.slow
def test_lesson_1_2_runs_whole_in_full_mode_on_real_rows(student, real_files):
    from notebook_exec import run_notebook

    served = real_files["atlas-higgsml-2014"]
    # the kernel is another process: pin the served file's checksum there too
    prelude = ("import dataclasses\nfrom data_fetchers import registry\n"
               "_ds = registry.DATASETS['atlas-higgsml-2014']\n"
               f"registry.DATASETS[_ds.name] = dataclasses.replace(_ds, files=(dataclasses.replace("
               f"_ds.files[0], sha256={sha256(served)!r}, md5=None),))")
    run = run_notebook(ROOT / "notebooks" / "01-root-and-bdt" / "02-bdt-higgsml.ipynb",
                       parameters='DATA_MODE = "full"', prelude=prelude)
    text = run.output_text()
    assert "FULL mode" in text and "10,000 events" in text
    assert "Self-check passed" in text, text[-2000:]
    check = next(line for line in text.splitlines() if "Self-check passed" in line)
    print(f"lesson 1.2 in full mode on 10,000 real rows: {run.wall_s:.0f} s, memory cap: {run.cap_note}; {check}")


def test_trackml_full_mode_reads_the_archive_in_place_with_the_lessons_code(student):
    from lesson_code import GNN_LESSON, lesson_namespace

    files = data_fetchers.get("trackml-2018", "full", quiet=True)
    archive = files["events"]
    assert archive.name == "training_part01.tar" and HITS["trackml-2018/training_part01.tar"] == 1
    assert not list(archive.parent.glob("*.unpacked"))  # read in place: 11 GB are not unpacked twice
    ns, _ = lesson_namespace(GNN_LESSON)
    trackml = ns["trackml"]
    assert trackml.event_ids(archive) == [1000, 21000]
    real = trackml.read_event(archive, 21000, parts=("hits", "particles"))
    assert len(real["hits"]) == 125_576 and "particle_type" in real["particles"]
    # the lesson's selection and graph on real truth (200 pile-up collisions)
    hits = ns["select_hits"](trackml.read_event(archive, 1000), ns["PT_MIN"])
    src, dst, is_true = ns["build_graph"](hits, ns["PHI_SLOPE_MAX"], ns["Z0_MAX"])
    efficiency = is_true.sum() / ns["n_true_edges"](hits)
    print(f"real event 1000, barrel, pT > 1 GeV: {len(hits):,} hits, {len(src):,} edges, "
          f"edge efficiency {efficiency:.4f}, purity {is_true.mean():.3f}")
    assert len(hits) > 3_000 and efficiency > 0.99 and 0.02 < is_true.mean() < 0.5
