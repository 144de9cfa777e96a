"""Chapter 6's dataset, hls4ml-lhc-jets-hlf: the sample's schema is the real file's, the reader's
errors, the features against hand computations of their definitions, grooming, the shipped sample
regenerated bit for bit from its generator, and the physics the lesson relies on."""

from __future__ import annotations

import itertools

import awkward as ak
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import data_fetchers
from data_fetchers.samples.hls4ml_jets import sample as hls4ml_jets
from hepml import hlf


@pytest.fixture(scope="module")
def sample_file():
    return data_fetchers.get("hls4ml-lhc-jets-hlf", "sample", quiet=True)["dataset_42468.pq"]


# ------------------------------------------------------------------ format and reader
def test_sample_has_the_real_files_name_columns_and_types(sample_file):
    assert sample_file.name == data_fetchers.registry.get_dataset("hls4ml-lhc-jets-hlf").files[0].filename
    schema = pq.read_schema(sample_file)
    assert schema.names == hlf.FEATURES + ["class"]  # the order OpenML serves (feature_names, then the target)
    assert all(schema.field(name).type == pa.float64() for name in hlf.FEATURES)
    table = pd.read_parquet(sample_file)
    assert set(table["class"]) == set(hlf.CLASSES)
    assert len(table) == hls4ml_jets.RECIPE.n_events
    assert table["class"].value_counts().to_dict() == {c: len(table) // 5 for c in hlf.CLASSES}  # balanced
    assert np.isfinite(table[hlf.FEATURES].to_numpy()).all()
    assert (table.multiplicity == np.round(table.multiplicity)).all() and (table.multiplicity >= 1).all()
    assert (table.zlogz < 0).all() and (table.c1_b0_mmdt > 0).all() and (table.c1_b0_mmdt < 0.5).all()
    # the rows of all classes are shuffled together, as in the real file
    assert table["class"].iloc[:50].nunique() == 5


def test_reader_returns_features_and_label_indices(sample_file):
    features, labels = hlf.read_hlf(sample_file)
    assert list(features.columns) == hlf.FEATURES and features.dtypes.eq(np.float32).all()
    raw = pd.read_parquet(sample_file)
    assert (np.asarray(hlf.CLASSES)[labels] == raw["class"].to_numpy()).all()
    subset, subset_labels = hlf.read_hlf(sample_file, max_jets=1000, seed=3)
    assert len(subset) == len(subset_labels) == 1000
    again, _ = hlf.read_hlf(sample_file, max_jets=1000, seed=3)
    pd.testing.assert_frame_equal(subset, again)


def test_reader_errors_say_what_is_wrong(tmp_path, sample_file):
    table = pd.read_parquet(sample_file).iloc[:20]
    table.drop(columns="mass_mmdt").to_parquet(tmp_path / "missing.pq")
    with pytest.raises(ValueError, match=r"lacks the columns \['mass_mmdt'\]"):
        hlf.read_hlf(tmp_path / "missing.pq")
    table.assign(**{"class": "x"}).to_parquet(tmp_path / "unknown.pq")
    with pytest.raises(ValueError, match=r"classes \['x'\]"):
        hlf.read_hlf(tmp_path / "unknown.pq")
    (tmp_path / "broken.pq").write_bytes(b"not parquet at all")
    with pytest.raises(ValueError, match="not a readable Parquet file.*fetch it again"):
        hlf.read_hlf(tmp_path / "broken.pq")


# ------------------------------------------------------------------ features
def _jet(pt, eta, phi):
    """Massless constituents as one jet of the awkward layout the generator uses."""
    pt, eta, phi = map(np.asarray, (pt, eta, phi))
    return {"px": pt * np.cos(phi), "py": pt * np.sin(phi), "pz": pt * np.sinh(eta), "E": pt * np.cosh(eta)}


def _by_hand(pt, eta, phi):
    """The definitions (pT and Delta R measure, normalised by the scalar pT sum), by brute force."""
    pt, eta, phi = map(np.asarray, (pt, eta, phi))
    z = pt / pt.sum()
    n = len(pt)
    dr = np.hypot(eta[:, None] - eta[None], (phi[:, None] - phi[None] + np.pi) % (2 * np.pi) - np.pi)  # massless: y = eta
    out = {}
    for beta in (0, 1, 2):
        out[f"e2_{beta}"] = sum(z[i] * z[j] * dr[i, j] ** beta for i, j in itertools.combinations(range(n), 2))
    for beta in (1, 2):
        triples = [(z[i] * z[j] * z[k], sorted([dr[i, j] ** beta, dr[i, k] ** beta, dr[j, k] ** beta]))
                   for i, j, k in itertools.combinations(range(n), 3)]
        out[f"e3_{beta}"] = sum(w * a[0] * a[1] * a[2] for w, a in triples)  # all three angles
        out[f"1e3_{beta}"] = sum(w * a[0] for w, a in triples)  # the smallest angle
        out[f"2e3_{beta}"] = sum(w * a[0] * a[1] for w, a in triples)  # the two smallest
    energy = pt * np.cosh(eta)
    out["zlogz"] = float(np.sum(energy / energy.sum() * np.log(energy / energy.sum())))
    p = np.array([sum(_jet(pt, eta, phi)[k]) for k in ("E", "px", "py", "pz")])
    out["mass"] = float(np.sqrt(p[0] ** 2 - p[1:] @ p[1:]))
    return out


def test_features_match_their_definitions_on_jets_mmdt_keeps_whole():
    # four hard, well separated prongs of comparable pT: mMDT (z_cut = 0.1) grooms nothing away
    jets = [([400.0, 300.0, 200.0, 150.0], [0.0, 0.2, -0.15, 0.1], [0.0, 0.1, 0.2, -0.25]),
            ([500.0, 350.0, 250.0], [0.3, 0.1, 0.45], [1.0, 1.2, 0.9]),
            ([300.0, 280.0, 260.0, 240.0, 220.0], [0.0, 0.1, 0.2, -0.1, -0.2], [0.0, 0.3, -0.2, 0.15, -0.3])]
    arrays = ak.Array([{k: list(v) for k, v in _jet(*j).items()} for j in jets])
    constituents = ak.zip({k: arrays[k] for k in ("px", "py", "pz", "E")})
    features = hls4ml_jets.jet_features(constituents)
    for k, j in enumerate(jets):
        h = _by_hand(*j)
        expected = {
            "c1_b0_mmdt": h["e2_0"], "c1_b1_mmdt": h["e2_1"], "c1_b2_mmdt": h["e2_2"],
            "c2_b1_mmdt": h["e3_1"] / h["e2_1"] ** 2, "c2_b2_mmdt": h["e3_2"] / h["e2_2"] ** 2,
            "d2_b1_mmdt": h["e3_1"] / h["e2_1"] ** 3, "d2_b2_mmdt": h["e3_2"] / h["e2_2"] ** 3,
            "d2_a1_b1_mmdt": h["e3_1"] / h["e2_1"] ** 3, "d2_a1_b2_mmdt": h["e3_1"] / h["e2_2"] ** 1.5,
            "m2_b1_mmdt": h["1e3_1"] / h["e2_1"], "m2_b2_mmdt": h["1e3_2"] / h["e2_2"],
            "n2_b1_mmdt": h["2e3_1"] / h["e2_1"] ** 2, "n2_b2_mmdt": h["2e3_2"] / h["e2_2"] ** 2,
            "zlogz": h["zlogz"], "mass_mmdt": h["mass"], "multiplicity": float(len(j[0])),
        }
        for name, value in expected.items():
            assert features[name][k] == pytest.approx(value, rel=1e-9), (k, name)


def test_mmdt_grooms_a_soft_wide_angle_emission_away():
    # a two-prong core (z = 0.4) and a 3 % emission at Delta R = 0.6: the groomed mass is the core's
    core = ([600.0, 400.0], [0.0, 0.1], [0.0, 0.05])
    with_soft = ([600.0, 400.0, 31.0], [0.0, 0.1, 0.5], [0.0, 0.05, 0.4])
    arrays = ak.Array([{k: list(v) for k, v in _jet(*j).items()} for j in (core, with_soft)])
    features = hls4ml_jets.jet_features(ak.zip({k: arrays[k] for k in ("px", "py", "pz", "E")}))
    assert features["mass_mmdt"][1] == pytest.approx(_by_hand(*core)["mass"], rel=1e-9)
    assert _by_hand(*with_soft)["mass"] > 1.5 * _by_hand(*core)["mass"]  # the emission did carry mass
    assert features["multiplicity"][1] == 3  # the multiplicity is the ungroomed jet's


# ------------------------------------------------------------------ the shipped sample
@pytest.mark.slow
@pytest.mark.parametrize("label", ["q", "w"])
def test_shipped_sample_is_the_generators_output_bit_for_bit(label, sample_file):
    """Regenerate the first chunk of two classes (a few seconds each) and find it, unchanged, where
    the recipe's shuffle put it in the shipped file."""
    recipe = hls4ml_jets.RECIPE
    chunk = pd.DataFrame(hls4ml_jets.generate_chunk(label, 0, recipe.seed))
    per_class = recipe.n_events // len(hlf.CLASSES)
    start = hlf.CLASSES.index(label) * per_class  # chunk 0 of the class, in generation order
    rows = hls4ml_jets.row_positions(recipe.n_events, recipe.seed)[start:start + hls4ml_jets.CHUNK]
    shipped = pd.read_parquet(sample_file).iloc[rows].reset_index(drop=True)
    assert (shipped["class"] == label).all()
    assert np.array_equal(shipped[hlf.FEATURES].to_numpy(), chunk[hlf.FEATURES].to_numpy())


def test_other_sizes_are_simulated_not_copied(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="multiple of 2500"):
        hls4ml_jets.simulate(1000, 1, progress=False)
    calls = []
    monkeypatch.setattr(hls4ml_jets, "simulate", lambda n, seed: calls.append((n, seed)) or pd.DataFrame(
        {**{f: [0.5] for f in hlf.FEATURES}, "class": ["g"]}))
    hls4ml_jets.generate(tmp_path, 2500, 7)
    assert calls == [(2500, 7)] and (tmp_path / hls4ml_jets.FILENAME).exists()


# ------------------------------------------------------------------ physics the lesson uses
def test_sample_physics(sample_file):
    features, labels = hlf.read_hlf(sample_file)
    median_mass = {c: float(np.median(features.mass_mmdt[labels == k])) for k, c in enumerate(hlf.CLASSES)}
    assert 76 < median_mass["w"] < 84 and 86 < median_mass["z"] < 95 and 150 < median_mass["t"] < 180
    assert median_mass["q"] < 40 and median_mass["g"] < 90
    # two-prong bosons have a lower N2 than quark and gluon jets
    n2 = {c: float(np.median(features.n2_b1_mmdt[labels == k])) for k, c in enumerate(hlf.CLASSES)}
    assert max(n2["w"], n2["z"]) < min(n2["q"], n2["g"]) - 0.03
    # gluons radiate more than quarks (colour factor 3 against 4/3)
    multiplicity = {c: float(features.multiplicity[labels == k].mean()) for k, c in enumerate(hlf.CLASSES)}
    assert multiplicity["g"] > 1.3 * multiplicity["q"]
    # D2 with alpha = beta = 1 is D2 (as in the real data), to rounding
    assert np.allclose(features.d2_a1_b1_mmdt, features.d2_b1_mmdt, rtol=1e-6, atol=0)


# ------------------------------------------------------------------ full mode
@pytest.mark.parametrize("max_jets", [1_000, None])
def test_lesson_reads_the_full_mode_table_through_a_school_mirror(sample_file, tmp_path, monkeypatch, max_jets):
    """Full mode end to end without the real file (none is in ../shared/data): a table in the real
    layout, served as a school mirror on 127.0.0.1, is downloaded under the registry's name (with the
    consent an unverified file needs) and read by the lesson's own data cell, capped or whole."""
    import matplotlib

    matplotlib.use("Agg")
    import nbformat

    from data_fetchers import cache
    from lesson_code import FPGA_LESSON
    from local_http import serve

    served = tmp_path / "mirror" / "hls4ml-lhc-jets-hlf"
    served.mkdir(parents=True)
    pd.read_parquet(sample_file).iloc[:3000].to_parquet(served / "dataset_42468.pq", index=False)
    monkeypatch.setenv("HEPML_CACHE_DIR", str(tmp_path / "hub-cache"))
    monkeypatch.setattr(cache, "user_cache_dir", lambda: tmp_path / "user-cache" / "hepml-hands-on")
    monkeypatch.setenv("HEPML_ACCEPT_UNVERIFIED", "1")
    cell = next(c.source for c in nbformat.read(FPGA_LESSON, as_version=4).cells
                if c.cell_type == "code" and "hlf.read_hlf(" in c.source)
    ns = {"data_fetchers": data_fetchers, "hlf": hlf, "pd": pd, "np": np, "DATA_MODE": "full", "MAX_JETS": max_jets,
          "SEED": 42}
    with serve(directory=tmp_path / "mirror") as url:
        monkeypatch.setenv("HEPML_MIRROR", url)
        exec(cell, ns)
    assert ns["MODE"] == "full" and ns["files"].mode == "full"
    assert len(ns["features"]) == len(ns["labels"]) == (max_jets or 3000)
    assert list(ns["features"].columns) == hlf.FEATURES
    assert (tmp_path / "hub-cache").exists() or (tmp_path / "user-cache").exists()
