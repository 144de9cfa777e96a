"""The registry of datasets: the single place where a dataset is described.

The book's "Data" page is generated from this module, so every fact written here
(URL, checksum, size, licence, citation, schema, sample recipe) is shown to readers
exactly once and never copied by hand.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import UnknownDatasetError

DEFAULT_MAX_BYTES = 5 * 10**9  # for a file whose registry entry gives neither a size nor a bound
# CERN Open Data publishes each file's Adler-32 and size in the portal's record metadata, kept in
# the portal's own repository (github.com/cernopendata/opendata.cern.ch, data/records/*.json).
_CERN_RECORDS = "https://github.com/cernopendata/opendata.cern.ch/blob/master/data/records"


@dataclass(frozen=True)
class RemoteFile:
    """One file of a dataset's full (real) version."""

    filename: str
    urls: tuple[str, ...]  # canonical URL first, then mirrors
    # Checksums only as the publisher gives them (never computed here from an unverified copy):
    sha256: str | None = None  # None everywhere: no checksum pinned (see UnverifiedChecksumError)
    md5: str | None = None  # Zenodo publishes an md5 per file
    adler32: str | None = None  # CERN Open Data publishes an Adler-32 per file
    checksum_source: str = ""  # where the checksum and the size were published
    size_bytes: int | None = None  # the published size: a download may not exceed it
    max_bytes: int | None = None  # where no size is published: a bound on the download, not a check
    unpack: bool = False  # a tar archive whose members are the dataset's files
    # the name a lesson uses for this download when it is read as a whole (e.g. an archive of
    # per-event files read in place); the sample has a directory of that name
    member: str = ""
    # "module:function": the function of data_fetchers.samples.<module>.sample that converts the
    # download, once, to the sample's format (same file name as the sample's), so a lesson reads both modes alike
    convert_to: str = ""

    @property
    def known_hash(self) -> str | None:
        """The checksum as ``algorithm:hex`` (the strongest one recorded), or None."""
        for algorithm in ("sha256", "md5", "adler32"):
            value = getattr(self, algorithm)
            if value:
                return f"{algorithm}:{value.lower()}"
        return None

    @property
    def size_limit(self) -> int:
        """The most bytes a download of this file may bring."""
        return self.size_bytes or self.max_bytes or DEFAULT_MAX_BYTES


@dataclass(frozen=True)
class Dataset:
    name: str
    title: str
    description: str
    record_url: str  # the landing page a human reads
    files: tuple[RemoteFile, ...]
    licence: str
    citation: str
    schema: str  # what a reader gets, in the dataset's own names
    sample_module: str  # data_fetchers/samples/<module>/: sample.py (its RECIPE) and realism.py
    chapters: tuple[str, ...] = ()
    notes: str = ""
    # the files a reader gets, when they differ from the downloaded ones (archive members)
    members: tuple[str, ...] = ()

    @property
    def size_bytes(self) -> int | None:
        sizes = [f.size_bytes for f in self.files]
        return None if None in sizes else sum(sizes)

    def file(self, filename: str | None = None) -> RemoteFile:
        if filename is None:
            if len(self.files) != 1:
                raise ValueError(f"{self.name} has several files; name one of {self.filenames}.")
            return self.files[0]
        for f in self.files:
            if f.filename == filename:
                return f
        raise UnknownDatasetError(f"{self.name} has no file {filename!r}; its files are {self.filenames}.")

    @property
    def filenames(self) -> list[str]:
        """The files a notebook gets, by name, in both modes."""
        return list(self.members) if self.members else [f.member or f.filename for f in self.files]


_CMS_EOS = "https://opendata.cern.ch/eos/opendata/cms/derived-data/AOD2NanoAODOutreachTool"

DATASETS: dict[str, Dataset] = {
    d.name: d
    for d in [
        Dataset(
            name="cms-dimuon-2012",
            title="CMS 2012 DoubleMuParked muons (reduced NanoAOD)",
            description=(
                "61,540,413 real proton-proton collision events at 8 TeV from the CMS "
                "DoubleMuParked datasets of 2012 runs B and C, reduced to the muon "
                "four-momenta and charges; the dimuon spectrum shows the J/psi, "
                "Upsilon and Z resonances."
            ),
            record_url="https://opendata.cern.ch/record/12341",
            files=(
                RemoteFile(
                    filename="Run2012BC_DoubleMuParked_Muons.root",
                    urls=(f"{_CMS_EOS}/Run2012BC_DoubleMuParked_Muons.root",),
                    adler32="1fa61aca",
                    size_bytes=2_244_449_133,
                    checksum_source=f"{_CERN_RECORDS}/cms-derived-nanoaod-outreach-DoubleMuParked.json (record 12341)",
                ),
            ),
            licence="CC0-1.0",
            citation=(
                "Wunsch, Stefan (2019). Events with two muons from 2012 (Run2012B and Run2012C "
                "DoubleMuParked), reduced NanoAOD format. CERN Open Data Portal. "
                "DOI:10.7483/OPENDATA.CMS.LVG5.QT81"
            ),
            schema=(
                "ROOT TTree `Events`: `nMuon` (UInt_t; Int_t in the sample, as uproot writes "
                "counters), `Muon_pt`, `Muon_eta`, `Muon_phi`, `Muon_mass` (float[nMuon], GeV), "
                "`Muon_charge` (int[nMuon])"
            ),
            sample_module="cms_dimuon",
            chapters=("00-getting-started", "05-sbi"),
            notes="2.1 GiB, so notebooks read at most MAX_EVENTS events of it; about 8 % of its events hold a Z candidate.",
        ),
        Dataset(
            name="cms-hep-tutorial-2012",
            title="CMS HEP tutorial ntuples (2011 data, ttbar and backgrounds)",
            description=(
                "Reduced CMS ntuples made for teaching a top-quark pair analysis (C. Sander and A. Schmidt, "
                "published by IPPOG in 2012): simulated ttbar (signal), Drell-Yan, QCD, single top, W+jets, WW, "
                "WZ, ZZ, and real collision data of 2011 (Run2011A, about 50 pb-1) selected by a single isolated "
                "muon trigger (pT > 24 GeV); jets, muons, electrons, photons, missing transverse momentum and "
                "ttbar truth as jagged ROOT branches. The records state no collision energy; the 2011 run was at "
                "7 TeV. Record 212 is the tutorial's analysis framework, whose archive holds the files (the samples "
                "are also records 203-211; the tutorial itself is record 50)."
            ),
            record_url="https://opendata.cern.ch/record/212",
            files=(
                RemoteFile(
                    filename="HEPTutorial_0.tar",
                    urls=("https://opendata.cern.ch/record/212/files/HEPTutorial_0.tar",),
                    adler32="37dd921e",
                    size_bytes=33_730_560,
                    checksum_source=f"{_CERN_RECORDS}/cms-hamburg-files.json (record 212)",
                    unpack=True,
                ),
            ),
            members=("data.root", "ttbar.root", "wjets.root", "dy.root", "single_top.root",
                     "ww.root", "wz.root", "zz.root", "qcd.root"),
            licence="not stated in the records (CERN Open Data's CMS material is usually CC0)",
            citation=(
                "Sander, C. and Schmidt, A., CMS HEP Tutorial (analysis framework and ntuples), CERN Open Data "
                "Portal, record 212 (2012), https://opendata.cern.ch/record/212; the tutorial: record 50"
            ),
            schema=(
                "One ROOT file per process (`data.root`, `ttbar.root`, ...), each with the TTree "
                "`events`: jagged `Jet_Px/Py/Pz/E/btag/ID`, `Muon_Px/Py/Pz/E/Charge/Iso`, "
                "`Electron_*`, `Photon_*` with int32 counters `NJet`, `NMuon`, `NElectron`, "
                "`NPhoton`; `MET_px/py`; ttbar truth `MC*`; `NPrimaryVertices`, `triggerIsoMu24`, "
                "`EventWeight` (GeV units)"
            ),
            sample_module="cms_hep_tutorial",
            chapters=("01-root-and-bdt",),
            notes="The tar is unpacked next to the download and its .root files are found by name.",
        ),
        Dataset(
            name="atlas-higgsml-2014",
            title="ATLAS Higgs machine-learning challenge 2014 (H to tau tau)",
            description=(
                "818,238 simulated ATLAS events at 8 TeV in the lepton + hadronic-tau final state: "
                "H to tau tau signal and Z to tau tau, ttbar and W backgrounds, with 30 features "
                "(17 primitive PRI_*, 13 derived DER_*), weights, labels and the Kaggle split used "
                "by the 2014 challenge; the AMS of the challenge is computed from them."
            ),
            record_url="https://opendata.cern.ch/record/328",
            files=(
                RemoteFile(
                    filename="atlas-higgs-challenge-2014-v2.csv.gz",
                    urls=("https://opendata.cern.ch/record/328/files/atlas-higgs-challenge-2014-v2.csv.gz",),
                    adler32="e4717bbe",
                    size_bytes=65_630_848,
                    checksum_source=f"{_CERN_RECORDS}/atlas-higgs-challenge-2014.json (record 328)",
                    convert_to="atlas_higgsml:csv_to_root",
                ),
            ),
            members=("atlas-higgs-challenge-2014-v2.root",),
            licence="CC0-1.0",
            citation=(
                "ATLAS Collaboration (2014). Dataset from the ATLAS Higgs Boson Machine Learning "
                "Challenge 2014. CERN Open Data Portal. DOI:10.7483/OPENDATA.ATLAS.ZBP2.M5T8"
            ),
            schema=(
                "ROOT TTree `higgsml` (converted once from the record's CSV in full mode): `EventId`, "
                "13 `DER_*` and 17 `PRI_*` float columns (-999.0 = undefined), `Weight`, `Label` "
                "(1 = signal 's', 0 = background 'b'), `KaggleSet` (character code of t/b/v/u), "
                "`KaggleWeight`"
            ),
            sample_module="atlas_higgsml",
            chapters=("01-root-and-bdt",),
            notes="Documentation of the features: CERN Open Data record 329.",
        ),
        Dataset(
            name="top-tagging-2019",
            title="Top quark tagging reference dataset (the 'landscape' dataset)",
            description=(
                "2 million simulated large-radius jets at 14 TeV (Pythia 8 + Delphes, ATLAS card, no "
                "pile-up): hadronically decaying top quarks (signal) and QCD light-quark and gluon "
                "jets (background), anti-kT R = 0.8, 550 < pT < 650 GeV, |eta| < 2, each stored as the "
                "four-momenta of its leading 200 particle-flow constituents. Split into 1.2M training, "
                "400k validation and 400k test jets; the benchmark of the top-tagging comparison."
            ),
            record_url="https://zenodo.org/records/2603256",
            files=tuple(
                RemoteFile(
                    filename=name,
                    urls=(f"https://zenodo.org/records/2603256/files/{name}?download=1",),
                    # Zenodo publishes an md5 per file, but no stored copy of the record page could
                    # be read here: none is pinned. The sizes of third-party download scripts
                    # (train 1.04 GB, val and test 0.35 GB) only set a bound.
                    max_bytes=bound,
                )
                for name, bound in (("train.h5", 1_600_000_000), ("val.h5", 550_000_000), ("test.h5", 550_000_000))
            ),
            licence="CC-BY-4.0",
            citation=(
                "Kasieczka, G., Plehn, T., Thompson, J., Russell, M. (2019). Top Quark Tagging Reference "
                "Dataset (v0). Zenodo. DOI:10.5281/zenodo.2603256; see also A. Butter et al., The "
                "Machine Learning landscape of top taggers, SciPost Phys. 7 (2019) 014, arXiv:1902.09914"
            ),
            schema=(
                "One pandas DataFrame per file (HDF5 fixed format, key `table`; read it with "
                "`data_fetchers.read_hdf_table`, which reads the numbers with h5py and never "
                "unpickles): `E_i`, `PX_i`, `PY_i`, `PZ_i` for i = 0..199 (GeV; constituents sorted by "
                "pT, zero-padded), `truthE`, `truthPX`, `truthPY`, `truthPZ` (the top quark; zero for "
                "QCD), `ttv` (the split), `is_signal_new` (1 top, 0 QCD)"
            ),
            sample_module="top_tagging",
            chapters=("02-cnn-jet-images",),
            notes=(
                "Full mode needs HEPML_ACCEPT_UNVERIFIED=1 until Zenodo's md5s are pinned here. The files "
                "are large (train.h5 holds 1.2M jets x 806 columns); lessons read at most a capped "
                "number of jets with `read_hdf_table(..., stop=N)`, which reads only those rows."
            ),
        ),
        Dataset(
            name="trackml-2018",
            title="TrackML particle tracking challenge (2018): training events",
            description=(
                "Simulated HL-LHC collisions (top-quark pairs with on average 200 pile-up collisions) in a "
                "generic silicon tracker of pixel, short-strip and long-strip barrels and endcaps in a 2 T "
                "field (ACTS): about 100,000 hits and 10,000 charged particles per event, with the truth "
                "that links each hit to its particle. The benchmark of the TrackML challenge and of the "
                "graph-neural-network tracking pipelines. The full mode reads the throughput phase's "
                "training events (Zenodo 4730157), whose files have the format of the accuracy phase's "
                "(Kaggle, which needs an account) plus a particle_type column."
            ),
            record_url="https://zenodo.org/records/4730157",
            files=(
                RemoteFile(
                    filename="training_part01.tar",
                    urls=("https://zenodo.org/records/4730157/files/training_part01.tar?download=1",),
                    # No checksum or size of the nine parts could be read from a stored copy of the
                    # record; about 100 GB of training data in all, so a part is about 11 GB.
                    max_bytes=16_000_000_000,
                    member="events",
                ),
            ),
            licence="as stated on the Zenodo record (not confirmed here)",
            citation=(
                "Amrouche, S. et al., The Tracking Machine Learning challenge: Accuracy phase, in The NeurIPS "
                "'18 Competition, Springer (2020), arXiv:1904.06778; Amrouche, S. et al., The Tracking Machine "
                "Learning challenge: Throughput phase, Comput. Softw. Big Sci. 7 (2023) 1, arXiv:2105.01160; "
                "data: Salzburger, A. et al., TrackML Throughput Phase, Zenodo, DOI:10.5281/zenodo.4730157"
            ),
            schema=(
                "`events`: per event `event<9 digits>-hits.csv` (hit_id, x, y, z [mm], volume_id, layer_id, "
                "module_id), `-cells.csv` (hit_id, ch0, ch1, value), `-particles.csv` (particle_id, "
                "particle_type, vx, vy, vz [mm], px, py, pz [GeV], q, nhits), `-truth.csv` (hit_id, "
                "particle_id, tx, ty, tz, tpx, tpy, tpz, weight); a directory in sample mode, the "
                "downloaded tar (read in place, never unpacked) in full mode; read with "
                "`hepml.trackml.read_event`. The sample also has `detectors.csv`."
            ),
            sample_module="trackml",
            chapters=("03-gnn-tracking",),
            notes=(
                "Full mode needs HEPML_ACCEPT_UNVERIFIED=1 (no checksum published here) and a machine for "
                "an 11 GB download: a hub, never Binder; the lesson reads a few events of it, barrel "
                "hits of particles above a pT threshold, to stay within 2 GB of memory."
            ),
        ),
        Dataset(
            name="calochallenge-2022-ds1",
            title="Fast Calorimeter Simulation Challenge 2022, dataset 1: photons",
            description=(
                "Geant4 showers of photons in the ATLAS barrel calorimeter at eta 0.20-0.25, voxelised as in "
                "ATLAS's FastCaloGAN (AtlFast3): 368 voxels in 5 layers (presampler, the electromagnetic "
                "accordion's strips, middle and back, the first tile layer), in rings and angular bins "
                "around the photon's impact point; 15 incident energies from 256 MeV to 4.2 TeV. The "
                "community benchmark for generative calorimeter simulation."
            ),
            record_url="https://zenodo.org/records/8099322",
            files=tuple(
                RemoteFile(
                    filename=name,
                    urls=(f"https://zenodo.org/records/8099322/files/{name}?download=1",),
                    # Zenodo publishes an md5 per file; the only copies seen here are third-party
                    # code's, not the record's, so none is pinned. About 121,000 showers x 368
                    # voxels per file (float64 at most: 0.36 GB): a bound, not a check.
                    max_bytes=600_000_000,
                )
                for name in ("dataset_1_photons_1.hdf5", "dataset_1_photons_2.hdf5")
            ),
            licence="as stated on the Zenodo record (not confirmed here)",
            citation=(
                "Faucett, T., Giannelli, M. F., Krause, C., Nachman, B., Salamani, D., Shih, D., Zaborowska, A., "
                "Fast Calorimeter Simulation Challenge 2022 - Dataset 1, Zenodo, DOI:10.5281/zenodo.8099322; "
                "the challenge's results: C. Krause et al., CaloChallenge 2022: A Community Challenge for Fast "
                "Calorimeter Simulation, arXiv:2410.21611; the geometry: ATLAS, AtlFast3, Comput. Softw. Big "
                "Sci. 6 (2022) 7, arXiv:2109.02551"
            ),
            schema=(
                "Two HDF5 files, `dataset_1_photons_1.hdf5` (training) and `dataset_1_photons_2.hdf5` "
                "(evaluation), each with `incident_energies` (N, 1) and `showers` (N, 368) in MeV; voxel "
                "index = layer offset + i_alpha x n_r + i_r, layers 0, 1, 2, 3, 12 as in the challenge's "
                "binning XML (`hepml.calo.load_binning`); read with `hepml.calo.read_showers`, which can "
                "read a random subset of rows."
            ),
            sample_module="calochallenge",
            chapters=("04-calo-gan",),
            notes=(
                "Full mode needs HEPML_ACCEPT_UNVERIFIED=1 (no checksum pinned here). The lesson reads a capped "
                "number of showers from each file (`N_TRAIN`, `N_EVAL`), block by block, to stay within "
                "Binder's 2 GB."
            ),
        ),
        Dataset(
            name="hls4ml-lhc-jets-hlf",
            title="hls4ml LHC jet dataset: 16 high-level features (OpenML data id 42468)",
            description=(
                "830,000 simulated jets of about 1 TeV from 13 TeV proton-proton collisions (MadGraph and "
                "Pythia 8 at the particle level, anti-kT R = 0.8), from gluons, light quarks, W and Z bosons and "
                "top quarks, each described by 16 jet-substructure features: energy-correlation ratios and the "
                "mass of the jet groomed by the modified mass-drop tagger, its multiplicity and z log z. The "
                "benchmark of the hls4ml papers on ultra-low-latency neural networks in FPGAs."
            ),
            record_url="https://www.openml.org/d/42468",
            files=(
                RemoteFile(
                    filename="dataset_42468.pq",
                    # OpenML's storage layout for data id 42468 (datasets/0004/42468/); the older host second.
                    urls=("https://data.openml.org/datasets/0004/42468/dataset_42468.pq",
                          "https://openml1.win.tue.nl/datasets/0004/42468/dataset_42468.pq"),
                    # No checksum of this file could be read here. 830,000 x 17 values: a bound, not a check.
                    max_bytes=300_000_000,
                ),
            ),
            licence="CC-BY-4.0 (the parent Zenodo record's; OpenML's own licence field not confirmed here)",
            citation=(
                "Duarte, J. et al., Fast inference of deep neural networks in FPGAs for particle physics, JINST 13 "
                "(2018) P07027, arXiv:1804.06913; data: OpenML data id 42468 (hls4ml_lhc_jets_hlf), derived from "
                "Pierini, M., Duarte, J. M., Tran, N., Freytsis, M., HLS4ML LHC Jet dataset (150 particles), Zenodo, "
                "DOI:10.5281/zenodo.3602260; the jets: Coleman, E. et al., The importance of calorimetry for "
                "highly-boosted jet tagging, JINST 13 (2018) T01003, arXiv:1709.08705"
            ),
            schema=(
                "One Parquet table `dataset_42468.pq` (as OpenML serves it): the 16 features `zlogz`, `c1_b0_mmdt`, "
                "`c1_b1_mmdt`, `c1_b2_mmdt`, `c2_b1_mmdt`, `c2_b2_mmdt`, `d2_b1_mmdt`, `d2_b2_mmdt`, `d2_a1_b1_mmdt`, "
                "`d2_a1_b2_mmdt`, `m2_b1_mmdt`, `m2_b2_mmdt`, `n2_b1_mmdt`, `n2_b2_mmdt`, `mass_mmdt` (GeV), "
                "`multiplicity` (float64) and the target `class` (g, q, t, w, z); read with `hepml.hlf.read_hlf`, "
                "which can read a random subset of the jets"
            ),
            sample_module="hls4ml_jets",
            chapters=("06-fpga",),
            notes=(
                "Full mode needs HEPML_ACCEPT_UNVERIFIED=1: no checksum of the file could be read here. The URL follows "
                "OpenML's storage layout and was not opened from here; should it move, OpenML's data description "
                "(https://api.openml.org/api/v1/json/data/42468) names the current Parquet and ARFF files "
                "(`sklearn.datasets.fetch_openml(data_id=42468)` reads the same table). The jets' constituents "
                "(150 per jet, 3.9 GB) are on Zenodo (record 3602260); the book does not use them."
            ),
        ),
    ]
}


def get_dataset(name: str) -> Dataset:
    try:
        return DATASETS[name]
    except KeyError:
        raise UnknownDatasetError(
            f"No dataset called {name!r} in the registry; known datasets: {', '.join(sorted(DATASETS))}."
        ) from None


def _human_size(n: int | None) -> str:
    if n is None:
        return "unknown"
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    raise AssertionError


def registry_markdown() -> str:
    """The registry as Markdown, for the book's Data page."""
    from .samples import get_recipe

    lines = [
        "| dataset | chapters | full mode (real data) | size | licence | checksum | sample mode |",
        "|---|---|---|---|---|---|---|",
    ]
    for d in DATASETS.values():
        recipe = get_recipe(d)
        checks = []
        for f in d.files:
            if f.known_hash:
                algo, digest = f.known_hash.split(":")
                checks.append(f"{algo} `{digest[:12]}`" + ("…" if len(digest) > 12 else ""))
            else:
                checks.append("not pinned yet: needs HEPML_ACCEPT_UNVERIFIED=1")
        lines.append(
            f"| **{d.name}**<br>{d.title} | {', '.join(d.chapters)} | [record]({d.record_url}) "
            f"| {_human_size(d.size_bytes)} | {d.licence} | {'; '.join(checks)} "
            f"| {recipe.summary} ({recipe.n_events:,} events, seed {recipe.seed}) |"
        )
    lines.append("")
    for d in DATASETS.values():
        recipe = get_recipe(d)
        lines += [
            f"## `{d.name}`: {d.title}",
            "",
            d.description,
            "",
            f"- **Record:** <{d.record_url}>",
            "- **Files:** " + ", ".join(f"[`{f.filename}`]({f.urls[0]})" for f in d.files),
            "- **Checksums:** " + "; ".join(
                f"`{f.filename}`: {f.known_hash or 'none published here'}"
                + (f", {f.size_bytes:,} bytes" if f.size_bytes else "")
                + (f" (published in {f.checksum_source})" if f.checksum_source else "") for f in d.files),
            f"- **Licence:** {d.licence}",
            f"- **Cite as:** {d.citation}",
            f"- **Schema:** {d.schema}",
        ]
        if d.notes:
            lines.append(f"- **Notes:** {d.notes}")
        lines += ["", f"**Sample recipe** (`data_fetchers/samples/{d.sample_module}/sample.py`, version {recipe.version}):", ""]
        lines += [recipe.doc.strip(), ""]
    return "\n".join(lines)
