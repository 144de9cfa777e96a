"""The registry of datasets: the single place where a dataset is described.

The book's "Data" page is generated from this module, so every fact written here
(URL, checksum, size, licence, citation, schema, sample recipe) is shown to readers
exactly once and never copied by hand.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import UnknownDatasetError


@dataclass(frozen=True)
class RemoteFile:
    """One file of a dataset's full (real) version."""

    filename: str
    urls: tuple[str, ...]  # canonical URL first, then mirrors
    sha256: str | None = None  # None: no checksum pinned yet (see UnverifiedChecksumError)
    md5: str | None = None  # only where the source publishes nothing better
    size_bytes: int | None = None
    unpack: bool = False  # a tar archive whose members are the dataset's files
    # "module:function" in data_fetchers.samples that converts the download, once, to the
    # sample's format (same file name as the sample's), so a lesson reads both modes alike
    convert_to: str = ""

    @property
    def known_hash(self) -> str | None:
        """The checksum in pooch's ``algorithm:hex`` notation, or None."""
        if self.sha256:
            return f"sha256:{self.sha256}"
        if self.md5:
            return f"md5:{self.md5}"
        return None


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
    sample_module: str  # data_fetchers.samples.<module> with a RECIPE
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
        return list(self.members) if self.members else [f.filename for f in self.files]


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
                    # The portal publishes an Adler-32 checksum, which pooch cannot check;
                    # no sha256 has been verified against the primary source yet.
                    sha256=None,
                    size_bytes=2_244_449_133,
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
            chapters=("00-getting-started",),
            notes=(
                "Full mode needs HEPML_ACCEPT_UNVERIFIED=1 until a sha256 is pinned here; "
                "2.1 GiB, so notebooks read at most MAX_EVENTS events of it."
            ),
        ),
        Dataset(
            name="cms-hep-tutorial-2012",
            title="CMS 2012 HEP tutorial ntuples (ttbar and backgrounds, 8 TeV)",
            description=(
                "Reduced CMS 2012 ntuples made for teaching a top-quark pair analysis: simulated "
                "ttbar (signal), Drell-Yan, QCD, single top, W+jets, WW, WZ, ZZ, and real 2012 "
                "collision data selected by a single isolated muon trigger; jets, muons, electrons, "
                "photons, missing transverse momentum and ttbar truth as jagged ROOT branches."
            ),
            record_url="https://opendata.cern.ch/record/212",
            files=(
                RemoteFile(
                    filename="HEPTutorial_0.tar",
                    urls=("https://opendata.cern.ch/record/212/files/HEPTutorial_0.tar",),
                    sha256=None,  # not verified against the primary source yet
                    unpack=True,
                ),
            ),
            members=("data.root", "ttbar.root", "wjets.root", "dy.root", "single_top.root",
                     "ww.root", "wz.root", "zz.root", "qcd.root"),
            licence="CC0-1.0",
            citation=(
                "CMS Collaboration, CMS 2012 HEP tutorial ntuples (top-quark pair analysis), "
                "CERN Open Data Portal, record 212, https://opendata.cern.ch/record/212"
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
            notes=(
                "Full mode needs HEPML_ACCEPT_UNVERIFIED=1 until a sha256 is pinned here; the tar is "
                "unpacked next to the download and its .root files are found by name."
            ),
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
                    sha256=None,  # not verified against the primary source yet
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
            notes=(
                "Full mode needs HEPML_ACCEPT_UNVERIFIED=1 until a sha256 is pinned here. Documentation "
                "of the features: CERN Open Data record 329."
            ),
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
                    # Zenodo publishes an md5 per file; none has been copied here from the
                    # record and verified yet.
                    sha256=None,
                )
                for name in ("train.h5", "val.h5", "test.h5")
            ),
            licence="CC-BY-4.0",
            citation=(
                "Kasieczka, G., Plehn, T., Thompson, J., Russell, M. (2019). Top Quark Tagging Reference "
                "Dataset (v0). Zenodo. DOI:10.5281/zenodo.2603256; see also A. Butter et al., The "
                "Machine Learning landscape of top taggers, SciPost Phys. 7 (2019) 014, arXiv:1902.09914"
            ),
            schema=(
                "One pandas DataFrame per file (HDF5, key `table`, read with `pandas.read_hdf`, needs "
                "PyTables): `E_i`, `PX_i`, `PY_i`, `PZ_i` for i = 0..199 (GeV; constituents sorted by "
                "pT, zero-padded), `truthE`, `truthPX`, `truthPY`, `truthPZ` (the top quark; zero for "
                "QCD), `ttv` (the split), `is_signal_new` (1 top, 0 QCD)"
            ),
            sample_module="top_tagging",
            chapters=("02-cnn-jet-images",),
            notes=(
                "Full mode needs HEPML_ACCEPT_UNVERIFIED=1 until a sha256 is pinned here. The files "
                "are large (train.h5 holds 1.2M jets x 806 columns); lessons read at most a capped "
                "number of jets with `pandas.read_hdf(..., stop=N)`, which reads only those rows."
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
                checks.append(f"{algo} `{digest[:12]}…`")
            else:
                checks.append("not pinned yet")
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
            f"- **Licence:** {d.licence}",
            f"- **Cite as:** {d.citation}",
            f"- **Schema:** {d.schema}",
        ]
        if d.notes:
            lines.append(f"- **Notes:** {d.notes}")
        lines += ["", f"**Sample recipe** (`data_fetchers/samples/{d.sample_module}.py`, version {recipe.version}):", ""]
        lines += [recipe.doc.strip(), ""]
    return "\n".join(lines)
