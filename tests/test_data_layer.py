"""Modes, registry, the sample framework, and the dimuon generator's determinism and parity."""

from __future__ import annotations

import multiprocessing
import re
import time
from pathlib import Path

import awkward as ak
import numpy as np
import pytest
import uproot

import data_fetchers
from data_fetchers import cache, registry, samples
from data_fetchers.errors import InvalidModeError, SampleGenerationError, UnknownDatasetError
from data_fetchers.samples.atlas_higgsml import sample as atlas_higgsml
from data_fetchers.samples.cms_dimuon import sample as cms_dimuon
from data_fetchers.samples.cms_hep_tutorial import sample as cms_hep_tutorial
from data_fetchers.samples.top_tagging import sample as top_tagging
from hepml import higgsml

MUON_BRANCHES = ["Muon_pt", "Muon_eta", "Muon_phi", "Muon_mass", "Muon_charge"]


@pytest.fixture
def caches(tmp_path, monkeypatch):
    monkeypatch.delenv("HEPML_CACHE_DIR", raising=False)
    monkeypatch.setattr(cache, "user_cache_dir", lambda: tmp_path / "user")
    return tmp_path / "user"


# ------------------------------------------------------------------ modes
def test_mode_defaults_to_sample(monkeypatch):
    monkeypatch.delenv("HEPML_DATA_MODE", raising=False)
    assert data_fetchers.resolve_mode() == "sample"


def test_mode_from_environment_and_parameter(monkeypatch):
    monkeypatch.setenv("HEPML_DATA_MODE", "FULL")
    assert data_fetchers.resolve_mode() == "full"
    assert data_fetchers.resolve_mode("sample") == "sample"  # the notebook parameter wins


def test_invalid_mode_is_explained(monkeypatch):
    monkeypatch.setenv("HEPML_DATA_MODE", "ful")
    with pytest.raises(InvalidModeError, match=r"Unknown data mode 'ful' \(from \$HEPML_DATA_MODE\); use 'sample'"):
        data_fetchers.resolve_mode()


# ------------------------------------------------------------------ registry
def test_unknown_dataset_lists_the_known_ones():
    with pytest.raises(UnknownDatasetError, match="known datasets: .*cms-dimuon-2012"):
        data_fetchers.get("no-such-dataset")


@pytest.mark.parametrize("ds", registry.DATASETS.values(), ids=lambda d: d.name)
def test_registry_entries_are_complete(ds):
    assert ds.title and ds.description and ds.licence and ds.citation and ds.schema
    assert ds.record_url.startswith("https://")
    for f in ds.files:
        assert f.urls and all(u.startswith("https://") for u in f.urls)
        assert f.sha256 is None or re.fullmatch(r"[0-9a-f]{64}", f.sha256)
        assert f.md5 is None or re.fullmatch(r"[0-9a-f]{32}", f.md5)
    recipe = samples.get_recipe(ds)
    assert recipe.dataset == ds.name and recipe.doc.strip() and recipe.n_events > 0


def test_data_page_markdown_comes_from_the_registry():
    text = data_fetchers.registry_markdown()
    for ds in registry.DATASETS.values():
        assert ds.name in text and ds.record_url in text and ds.citation in text
        assert not ds.notes or f"- **Notes:** {ds.notes}" in text
        assert samples.get_recipe(ds).doc.strip().splitlines()[0] in text
    assert "| unknown |" in text  # a dataset whose size is not published (TrackML's parts)
    assert "adler32 `1fa61aca` |" in text  # a short checksum is shown whole, a long one shortened


def test_sizes_and_files_of_the_registry():
    from data_fetchers.registry import _human_size
    assert [_human_size(n) for n in (None, 512, 33_730_560, 2_244_449_133)] == ["unknown", "512 B", "33.7 MB", "2.2 GB"]
    top = registry.DATASETS["top-tagging-2019"]
    assert top.file("val.h5").filename == "val.h5"
    with pytest.raises(UnknownDatasetError, match="has no file 'train.csv'"):
        top.file("train.csv")
    with pytest.raises(ValueError, match="has several files"):
        top.file()


# ------------------------------------------------------------------ sample framework
def _fake_dataset(module: str) -> registry.Dataset:
    return registry.Dataset(name="fake", title="t", description="d", record_url="https://example.org",
                            files=(registry.RemoteFile("fake.txt", ("https://example.org/fake.txt",)),),
                            licence="CC0-1.0", citation="c", schema="s", sample_module=module)


def _write(directory: Path, n: int, seed: int):
    (directory / "fake.txt").write_text(f"{n} {seed}\n")
    (directory.parent / f"calls-{multiprocessing.current_process().pid}").touch()


def _fail(directory: Path, n: int, seed: int):
    (directory / "fake.txt").write_text("half")
    raise RuntimeError("generator crashed")


@pytest.fixture
def fake_recipes(monkeypatch):
    def recipe(fn):
        return samples.SampleRecipe("fake", 1, 7, 10, "fake", "doc", fn)
    mods = {"fake_ok": recipe(_write), "fake_fail": recipe(_fail)}
    monkeypatch.setattr(samples, "get_recipe", lambda ds: mods[ds.sample_module])


def test_sample_generated_once_and_cached(caches, fake_recipes):
    ds = _fake_dataset("fake_ok")
    first = samples.ensure_sample(ds, quiet=True)
    assert first == caches / "fake" / "sample-v1-seed7-n10"
    assert (first / "fake.txt").read_text() == "10 7\n"
    assert samples.ensure_sample(ds, quiet=True) == first
    assert len(list(first.parent.glob("calls-*"))) == 1


def test_generation_says_what_it_does_unless_quiet(caches, fake_recipes, capsys):
    samples.ensure_sample(_fake_dataset("fake_ok"), n_events=3, quiet=True)
    assert capsys.readouterr().out == ""
    samples.ensure_sample(_fake_dataset("fake_ok"), n_events=4)
    out = capsys.readouterr().out
    assert "Generating the fake sample once (4 events, seed 7" in out and "... done in" in out


def test_failed_generation_leaves_nothing(caches, fake_recipes):
    with pytest.raises(SampleGenerationError, match="nothing was cached"):
        samples.ensure_sample(_fake_dataset("fake_fail"), quiet=True)
    # nothing at all: no partial sample, no lock file, and not the empty directory the attempt created
    assert not (caches / "fake").exists(), sorted((caches / "fake").rglob("*"))


def _write_slowly(directory: Path, n: int, seed: int):
    time.sleep(1.5)  # long enough for the other processes to arrive and wait on the lock
    _write(directory, n, seed)


def _ensure_in_process(user, queue):
    cache.user_cache_dir = lambda: Path(user)
    samples.get_recipe = lambda ds: samples.SampleRecipe("fake", 1, 7, 10, "fake", "doc", _write_slowly)
    start = time.perf_counter()
    path = samples.ensure_sample(_fake_dataset("fake_ok"), quiet=True)
    queue.put((str(path), (path / "fake.txt").read_text(), time.perf_counter() - start))


def test_concurrent_first_use_generates_once(caches):
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_ensure_in_process, args=(str(caches), queue)) for _ in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(30)
    assert [p.exitcode for p in procs] == [0, 0, 0]
    results = [queue.get(timeout=5) for _ in procs]
    assert len(list((caches / "fake").glob("calls-*"))) == 1  # one generation
    assert {(path, text) for path, text, _ in results} == {(str(caches / "fake" / "sample-v1-seed7-n10"), "10 7\n")}
    assert min(seconds for *_, seconds in results) > 1.0  # the others really waited for it


@pytest.mark.parametrize("ds", registry.DATASETS.values(), ids=lambda d: d.name)
def test_describe_states_the_mode(ds, monkeypatch):
    monkeypatch.delenv("HEPML_DATA_MODE", raising=False)
    sample, full = data_fetchers.describe(ds.name), data_fetchers.describe(ds.name, "full")
    assert sample.startswith("SAMPLE mode: SIMULATED events") and f"{samples.get_recipe(ds).n_events:,}" in sample
    assert "HEPML_DATA_MODE=full" in sample and ds.title in sample
    assert full.startswith("FULL mode") and ds.record_url in full and ds.licence in full and ds.citation in full


@pytest.mark.parametrize("ds", registry.DATASETS.values(), ids=lambda d: d.name)
def test_registry_and_generators_agree(ds):
    """The files a lesson gets are the same in both modes: the generator writes the registry's file
    names (archive members or converted files included), and every converter exists."""
    from data_fetchers.fetch import find_converter

    recipe = samples.get_recipe(ds)
    for rf in ds.files:
        if rf.convert_to:
            assert callable(find_converter(rf.convert_to))
            assert len(ds.members) == 1, "a converted download yields exactly one member"
        if rf.unpack:
            assert ds.members, "an archive names the members a lesson reads"
    assert recipe.dataset == ds.name


# ------------------------------------------------------------------ the generators
def generate_twice(tmp_path_factory, name, generate, *args, **kwargs) -> list[Path]:
    """Two independent runs of a generator with the same arguments, for determinism tests."""
    directories = []
    for run in ("a", "b"):
        directory = tmp_path_factory.mktemp(f"{name}-{run}")
        generate(directory, *args, **kwargs)
        directories.append(directory)
    return directories


@pytest.fixture(scope="module")
def small_dimuon(tmp_path_factory):
    return [d / cms_dimuon.FILENAME for d in generate_twice(tmp_path_factory, "dimuon", cms_dimuon.generate, 600, 11)]


def read_muons(path: Path) -> ak.Array:
    """The notebook's reader: the Events tree, muon branches, into awkward arrays."""
    return uproot.open(path)["Events"].arrays(MUON_BRANCHES)


def test_dimuon_generator_is_deterministic(small_dimuon):
    a, b = (read_muons(p) for p in small_dimuon)
    assert len(a) > 100
    for branch in MUON_BRANCHES:
        assert ak.all(a[branch] == b[branch]), branch
    # a different seed must give different events
    tmp = small_dimuon[0].parent.parent / "dimuon-seed12"
    tmp.mkdir(exist_ok=True)
    cms_dimuon.generate(tmp, 600, 12)
    different = read_muons(tmp / cms_dimuon.FILENAME)
    same_layout = len(different) == len(a) and ak.all(ak.num(different.Muon_pt) == ak.num(a.Muon_pt))
    assert not (same_layout and ak.all(ak.flatten(different.Muon_pt) == ak.flatten(a.Muon_pt)))


def test_dimuon_sample_has_the_real_file_schema(small_dimuon, shared_data):
    real_file = shared_data / "cms-opendata" / "Run2012BC_DoubleMuParked_Muons_1000evts_rntuple_v1-0-0-0.root"
    real, sample = read_muons(real_file), read_muons(small_dimuon[0])
    sample_tree = uproot.open(small_dimuon[0])["Events"]
    assert uproot.open(small_dimuon[0]).classnames() == {"Events;1": "TTree"}
    real_keys = {k for k in uproot.open(real_file)["Events"].keys() if "_collection" not in k}
    assert set(sample_tree.keys()) == real_keys
    for branch in MUON_BRANCHES:  # same jagged types: var * float32 / var * int32
        assert str(sample[branch].type.content) == str(real[branch].type.content), branch
    # nMuon: UInt_t in the real TTree, int32 as uproot writes counters (documented)
    assert np.issubdtype(sample_tree["nMuon"].array(library="np").dtype, np.integer)
    for arr in (real, sample):
        assert ak.all(ak.num(arr.Muon_pt) == ak.num(arr.Muon_charge))
        assert ak.all(arr.Muon_pt > 0)
        assert ak.all(abs(arr.Muon_eta) < 3.0)  # the real file reaches 2.7
        assert ak.all(abs(arr.Muon_phi) <= np.float32(np.pi))
        assert ak.all(abs(arr.Muon_mass - 0.10566) < 1e-4)
        assert set(np.unique(ak.flatten(arr.Muon_charge).to_numpy())) <= {-1, 1}
    # similar muon multiplicities (real: 2 % none, 10 % one, 55 % two, 32 % more)
    for arr in (real, sample):
        frac = np.bincount(ak.num(arr.Muon_pt).to_numpy(), minlength=4) / len(arr)
        assert frac[0] < 0.05 and 0.03 < frac[1] < 0.2 and 0.45 < frac[2] < 0.75 and frac[3:].sum() > 0.15, frac


# ------------------------------------------------------------------ the HEP-tutorial generator
@pytest.fixture(scope="module")
def small_tutorial(tmp_path_factory):
    # a small luminosity keeps the pseudo-data, and the test, small
    return generate_twice(tmp_path_factory, "tutorial", cms_hep_tutorial.generate, 1500, 5, luminosity_pb=2.0)


def test_tutorial_generator_writes_every_process_deterministically(small_tutorial):
    a, b = small_tutorial
    assert sorted(p.name for p in a.iterdir()) == sorted(cms_hep_tutorial.FILENAMES)
    for name in cms_hep_tutorial.FILENAMES:
        ta, tb = (uproot.open(d / name)["events"].arrays() for d in (a, b))
        assert len(ta) == len(tb)
        for field in ta.fields:
            assert ak.all(ak.ravel(ta[field]) == ak.ravel(tb[field])), (name, field)


def test_tutorial_sample_has_the_real_file_schema(small_tutorial, shared_data):
    real = uproot.open(shared_data / "cms-hep-tutorial-2012" / "uproot-HZZ.root")["events"]
    real_types = {k: real[k].typename for k in real.keys()}
    for name in cms_hep_tutorial.FILENAMES:
        tree = uproot.open(small_tutorial[0] / name)["events"]
        assert {k: tree[k].typename for k in tree.keys()} == real_types, name
    # value ranges, read with the lesson's reader (uproot into awkward)
    sample = uproot.open(small_tutorial[0] / "ttbar.root")["events"].arrays()
    data = uproot.open(small_tutorial[0] / "data.root")["events"].arrays()
    for arr in (real.arrays(), sample, data):
        assert ak.all(arr.triggerIsoMu24)
        assert ak.all(ak.num(arr.Jet_Px) == arr.NJet) and ak.all(ak.num(arr.Muon_Px) == arr.NMuon)
        jet_pt = np.hypot(ak.flatten(arr.Jet_Px), ak.flatten(arr.Jet_Py))
        assert ak.all(jet_pt > 29)  # jets are stored above 30 GeV
        assert ak.all(np.hypot(ak.flatten(arr.Muon_Px), ak.flatten(arr.Muon_Py)) > 5)
        btag = ak.flatten(arr.Jet_btag).to_numpy()
        assert np.all((btag == -1) | (btag >= 0)) and 0.5 < np.mean(btag == -1) < 0.97
        assert ak.all(arr.Muon_Iso >= 0) and set(np.unique(ak.flatten(arr.Muon_Charge))) <= {-1, 1}
        assert ak.all(arr.EventWeight >= 0)  # real MC weights can be 0
    assert ak.all(data.EventWeight == 1)  # pseudo-data, like real data, is unweighted
    semileptonic = sample[sample.MCleptonPDGid != 0]
    assert len(semileptonic) > 0.3 * len(sample)
    assert set(np.unique(abs(semileptonic.MCleptonPDGid))) <= {11, 13}


# ------------------------------------------------------------------ the HiggsML generator


@pytest.fixture(scope="module")
def small_higgsml(tmp_path_factory):
    return [uproot.open(d / atlas_higgsml.FILENAME)["higgsml"].arrays(library="pd")
            for d in generate_twice(tmp_path_factory, "higgsml", atlas_higgsml.generate, 4000, 9)]


def test_higgsml_sample_is_deterministic_with_the_challenge_columns(small_higgsml):
    a, b = small_higgsml
    assert list(a.columns) == atlas_higgsml.COLUMNS  # same names, same order as the challenge file
    assert a.equals(b)
    assert set(a.Label.unique()) == {0, 1} and set(a.KaggleSet.unique()) == {ord("t"), ord("b"), ord("v")}
    assert (a.Weight > 0).all() and a.EventId.is_unique and a.EventId.min() == 100000
    assert a.PRI_jet_num.isin([0, 1, 2, 3]).all()


def test_higgsml_undefined_features_follow_the_challenge_rules(small_higgsml):
    df = small_higgsml[0]
    jets_features = ["DER_deltaeta_jet_jet", "DER_mass_jet_jet", "DER_prodeta_jet_jet", "DER_lep_eta_centrality",
                     "PRI_jet_subleading_pt", "PRI_jet_subleading_eta", "PRI_jet_subleading_phi"]
    assert (df.loc[df.PRI_jet_num <= 1, jets_features] == -999).all().all()
    assert (df.loc[df.PRI_jet_num >= 2, jets_features] != -999).all().all()
    assert (df.loc[df.PRI_jet_num == 0, ["PRI_jet_leading_pt", "PRI_jet_leading_eta"]] == -999).all().all()
    assert (df.loc[df.PRI_jet_num == 0, "PRI_jet_all_pt"] == 0).all()
    assert ((df.DER_mass_MMC == -999) | (df.DER_mass_MMC > 0)).all()
    assert (df.PRI_lep_pt > 26).all() and (df.PRI_tau_pt > 20).all() and (df.PRI_tau_eta.abs() < 2.5).all()


def test_higgsml_derived_features_follow_the_documented_formulas(small_higgsml):
    df = small_higgsml[0]
    pri = {c: df[c].to_numpy(np.float64) for c in df.columns if c.startswith("PRI_")}
    der = higgsml.derived(pri)  # the formulas the sample and lesson 1.2 share
    for name, values in der.items():
        np.testing.assert_allclose(df[name], values, rtol=2e-4, atol=2e-3, err_msg=name)
    # spot checks by hand, from the challenge documentation
    e = df.iloc[0]
    dphi = e.PRI_met_phi - e.PRI_lep_phi
    assert np.isclose(e.DER_mass_transverse_met_lep, np.sqrt(2 * e.PRI_lep_pt * e.PRI_met * (1 - np.cos(dphi))), rtol=1e-3)
    assert np.isclose(e.DER_pt_ratio_lep_tau, e.PRI_lep_pt / e.PRI_tau_pt, rtol=1e-4)
    assert np.isclose(e.DER_sum_pt, e.PRI_tau_pt + e.PRI_lep_pt + e.PRI_jet_all_pt, rtol=1e-4)
    deta, dphi_tl = e.PRI_tau_eta - e.PRI_lep_eta, np.angle(np.exp(1j * (e.PRI_tau_phi - e.PRI_lep_phi)))
    assert np.isclose(e.DER_deltar_tau_lep, np.hypot(deta, dphi_tl), rtol=1e-4)
    assert ((df.DER_met_phi_centrality.abs() <= np.sqrt(2) + 1e-5)).all()
    # the MMC stand-in peaks near the Higgs mass for the signal, and is a function of the PRI_* columns
    signal = df[(df.Label == 1) & (df.DER_mass_MMC > 0)]
    assert 100 < signal.DER_mass_MMC.median() < 160
    again = atlas_higgsml.mass_mmc_standin(pri, np.random.default_rng(5))
    assert ((again == -999) == (df.DER_mass_MMC == -999)).mean() > 0.97  # another scan, nearly the same answers
    defined = (again > 0) & (df.DER_mass_MMC > 0)
    np.testing.assert_allclose(np.median(again[defined] / df.DER_mass_MMC[defined]), 1, atol=0.02)


def _tau_pair_event(mass, visible_fraction, met_phi_offset=0.0):
    """PRI_* columns of one H -> tau tau-like event built by hand: two taus of the given pair mass,
    back to back in the pair's rest frame, boosted, whose neutrinos carry 1 - x of each tau's
    momentum along it (collinear decays); the missing momentum can be turned by ``met_phi_offset``."""
    import vector

    p = mass / 2  # each tau's momentum in the pair's rest frame, perpendicular to the beam
    # a pair with 120 GeV of transverse momentum: back-to-back taus would leave the missing momentum
    # (a difference of two neutrino momenta) too small to measure their shares, for MMC as for this stand-in
    boost = vector.obj(px=0.0, py=120.0, pz=30.0, E=float(np.sqrt(mass ** 2 + 120 ** 2 + 30 ** 2)))
    taus = [vector.obj(px=p * np.cos(a), py=p * np.sin(a), pz=0.0, E=p).boost_p4(boost) for a in (0.3, 0.3 + np.pi)]
    x_tau, x_lep = visible_fraction
    visible = [taus[0] * x_tau, taus[1] * x_lep]
    nu = taus[0] * (1 - x_tau) + taus[1] * (1 - x_lep)
    met, met_phi = nu.pt, nu.phi + met_phi_offset
    return {"PRI_tau_pt": np.array([visible[0].pt]), "PRI_tau_eta": np.array([visible[0].eta]),
            "PRI_tau_phi": np.array([visible[0].phi]), "PRI_lep_pt": np.array([visible[1].pt]),
            "PRI_lep_eta": np.array([visible[1].eta]), "PRI_lep_phi": np.array([visible[1].phi]),
            "PRI_met": np.array([met]), "PRI_met_phi": np.array([met_phi]), "PRI_met_sumet": np.array([100.0])}


def test_mmc_standin_measures_a_hand_built_tau_pair_and_fails_where_mmc_fails():
    for mass in (91.0, 125.0):
        for fractions in ((0.4, 0.3), (0.7, 0.5)):
            event = _tau_pair_event(mass, fractions)
            estimate = atlas_higgsml.mass_mmc_standin(event, np.random.default_rng(1), n_points=4096)[0]
            assert abs(estimate / mass - 1) < 0.12, (mass, fractions, estimate)
    # missing momentum pointing away from both taus: no neutrino configuration explains it
    lost = _tau_pair_event(125.0, (0.4, 0.3), met_phi_offset=np.pi / 2)
    lost["PRI_met"] = lost["PRI_met"] * 3
    assert atlas_higgsml.mass_mmc_standin(lost, np.random.default_rng(1))[0] == -999.0


def test_fake_taus_are_chosen_by_fake_rate_and_weighted_by_its_sum():
    import awkward as ak
    import vector

    vector.register_awkward()
    jets = ak.zip({"px": [[100.0, 26.0], [], [50.0]], "py": [[0.0, 0.0], [], [0.0]], "pz": [[0.0, 0.0], [], [0.0]],
                   "E": [[100.0, 26.0], [], [50.0]]}, with_name="Momentum4D")
    rng = np.random.default_rng(3)
    picks = [atlas_higgsml._fake_tau(jets, rng) for _ in range(400)]
    tau_pt = np.array([ak.to_numpy(ak.fill_none(p[0].pt, -1.0)) for p in picks])
    rate = picks[0][1]
    expected = atlas_higgsml.fake_rate(np.array([80.0, 20.8]))  # tau candidates at 0.8 of the jet pT
    np.testing.assert_allclose(rate, [expected.sum(), 0.0, atlas_higgsml.fake_rate(np.array([40.0]))[0]])
    assert (tau_pt[:, 1] == -1).all() and np.allclose(tau_pt[:, 2], 40.0)  # no jet, no fake; one jet, that one
    soft = np.isclose(tau_pt[:, 0], 20.8).mean()  # the soft jet fakes the tau in proportion to its rate
    assert abs(soft - expected[1] / expected.sum()) < 0.06


def test_higgsml_full_mode_csv_is_converted_to_the_same_tree(small_higgsml, tmp_path):
    df = small_higgsml[0].copy()
    csv = df.assign(Label=np.where(df.Label == 1, "s", "b"), KaggleSet=df.KaggleSet.map(chr))
    csv_path = tmp_path / "atlas-higgs-challenge-2014-v2.csv.gz"
    csv.to_csv(csv_path, index=False)  # the challenge's format: letters for Label and KaggleSet
    root_path = tmp_path / "converted.root"
    atlas_higgsml.csv_to_root(csv_path, root_path, chunk_rows=1000)
    back = uproot.open(root_path)["higgsml"].arrays(library="pd")
    pd_testing = pytest.importorskip("pandas.testing")
    pd_testing.assert_frame_equal(back, df, check_dtype=True, rtol=1e-6)
    bad = tmp_path / "bad.csv"
    csv.drop(columns=["DER_mass_MMC"]).to_csv(bad, index=False)
    with pytest.raises(ValueError, match="DER_mass_MMC"):
        atlas_higgsml.csv_to_root(bad, tmp_path / "bad.root")


# ------------------------------------------------------------------ top tagging
@pytest.fixture(scope="module")
def small_toptag(tmp_path_factory):
    return generate_twice(tmp_path_factory, "toptag", top_tagging.generate, 300, 3)


def _read_toptag(directory: Path, name: str):
    import pandas as pd

    return pd.read_hdf(directory / name, key="table")


def test_toptag_generator_is_deterministic(small_toptag):
    a, b = small_toptag
    for name in top_tagging.FILENAMES:
        assert _read_toptag(a, name).equals(_read_toptag(b, name)), name


def test_toptag_sample_has_the_reference_format(small_toptag):
    import pandas as pd

    directory = small_toptag[0]
    reference_columns = ([f"{q}_{i}" for i in range(200) for q in ("E", "PX", "PY", "PZ")]
                         + ["truthE", "truthPX", "truthPY", "truthPZ", "ttv", "is_signal_new"])
    sizes = {}
    for name, ttv in (("train.h5", 0), ("val.h5", 2), ("test.h5", 1)):
        with pd.HDFStore(directory / name, mode="r") as store:
            assert "/table" in store.keys()
        frame = _read_toptag(directory, name)
        sizes[name] = len(frame)
        assert list(frame.columns) == reference_columns
        assert (frame.dtypes.iloc[:804] == np.float32).all()
        assert set(frame["is_signal_new"].unique()) == {0, 1} and frame["is_signal_new"].dtype.kind == "i"
        assert (frame["ttv"] == ttv).all()
        assert len(pd.read_hdf(directory / name, key="table", stop=7)) == 7  # the lessons' capped read

        c = frame.iloc[:, :800].to_numpy().reshape(len(frame), 200, 4)
        E, px, py, pz = np.moveaxis(c.astype(np.float64), -1, 0)
        pt = np.hypot(px, py)
        assert np.all(np.diff(pt, axis=1) <= 1e-3), "constituents sorted by decreasing pT"
        padding = E == 0
        assert np.all(padding[:, 1:] >= padding[:, :-1]), "zero-padding only after the last constituent"
        assert np.all(E ** 2 - px ** 2 - py ** 2 - pz ** 2 >= -1e-2 * E ** 2), "physical four-momenta"
        jet = c.astype(np.float64).sum(axis=1)
        jet_pt = np.hypot(jet[:, 1], jet[:, 2])
        assert np.all((jet_pt > 550) & (jet_pt < 650))
        jet_eta = np.arcsinh(jet[:, 3] / jet_pt)
        assert np.all(np.abs(jet_eta) < 2)

        truth = frame[["truthE", "truthPX", "truthPY", "truthPZ"]].to_numpy(np.float64)
        top = frame["is_signal_new"].to_numpy() == 1
        assert np.all(truth[~top] == 0)
        t_pt = np.hypot(truth[top, 1], truth[top, 2])
        dphi = (np.arctan2(truth[top, 2], truth[top, 1]) - np.arctan2(jet[top, 2], jet[top, 1]) + np.pi) % (2 * np.pi) - np.pi
        assert np.all(np.hypot(np.arcsinh(truth[top, 3] / t_pt) - jet_eta[top], dphi) < 0.8), "top matched within 0.8"
    assert sizes == {"train.h5": 180, "val.h5": 60, "test.h5": 60}


def test_toptag_sample_has_top_jet_physics(small_toptag):
    frame = _read_toptag(small_toptag[0], "train.h5")
    c = frame.iloc[:, :800].to_numpy(np.float64).reshape(len(frame), 200, 4)
    jet = c.sum(axis=1)
    mass = np.sqrt(np.maximum(jet[:, 0] ** 2 - (jet[:, 1:] ** 2).sum(axis=1), 0))
    top = frame["is_signal_new"].to_numpy() == 1
    assert 0.4 < top.mean() < 0.6
    assert 150 < np.median(mass[top]) < 195, "top jets peak near the top mass"
    assert np.median(mass[~top]) < 110, "QCD jet masses fall"
    n = (c[..., 0] > 0).sum(axis=1)
    assert n[top].mean() > n[~top].mean()


def test_generators_write_exactly_the_registry_files(small_dimuon, small_tutorial, small_toptag):
    written = {"cms-dimuon-2012": small_dimuon[0].parent, "cms-hep-tutorial-2012": small_tutorial[0],
               "top-tagging-2019": small_toptag[0]}
    for name, directory in written.items():
        assert sorted(p.name for p in directory.iterdir()) == sorted(registry.DATASETS[name].filenames), name
    assert [atlas_higgsml.FILENAME] == registry.DATASETS["atlas-higgsml-2014"].filenames


# ------------------------------------------------------------------ reading without pickle
def test_hdf_tables_are_read_like_pandas_without_pickle(small_toptag):
    import pandas as pd
    path = small_toptag[0] / "train.h5"
    for stop in (None, 7):
        ours, theirs = data_fetchers.read_hdf_table(path, stop=stop), pd.read_hdf(path, key="table", stop=stop)
        pd.testing.assert_frame_equal(ours, theirs)


@pytest.mark.parametrize("layout", ["objects", "table-format", "no-such-key"])
def test_hdf_files_that_could_unpickle_are_refused(tmp_path, layout):
    import pandas as pd
    path = tmp_path / "suspicious.h5"
    frame = pd.DataFrame({"E_0": np.arange(3.0), "note": ["a", "b", "c"] if layout == "objects" else [1, 2, 3]})
    frame.to_hdf(path, key="other" if layout == "no-such-key" else "table",
                 format="table" if layout == "table-format" else "fixed")
    with pytest.raises(data_fetchers.DataError) as info:
        data_fetchers.read_hdf_table(path)
    assert "\n" not in str(info.value) and ("not read" in str(info.value))
