"""The registry of datasets: the single place where a dataset is described.

The book's "Data" page is generated from this module, so every fact written here
(URL, checksum, size, licence, citation, schema, sample recipe) is shown to readers
exactly once and never copied by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .errors import UnknownDatasetError


@dataclass(frozen=True)
class RemoteFile:
    """One file of a dataset's full (real) version."""

    filename: str
    urls: tuple[str, ...]  # canonical URL first, then mirrors
    sha256: str | None = None  # None: no checksum pinned yet (see UnverifiedChecksumError)
    md5: str | None = None  # only where the source publishes nothing better
    size_bytes: int | None = None

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
    extra: dict = field(default_factory=dict)

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
        return [f.filename for f in self.files]


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
            f"- **Files:** " + ", ".join(f"[`{f.filename}`]({f.urls[0]})" for f in d.files),
            f"- **Licence:** {d.licence}",
            f"- **Cite as:** {d.citation}",
            f"- **Schema:** {d.schema}",
        ]
        if d.notes:
            lines.append(f"- **Notes:** {d.notes}")
        lines += ["", f"**Sample recipe** (`data_fetchers/samples/{d.sample_module}.py`, version {recipe.version}):", ""]
        lines += [recipe.doc.strip(), ""]
    return "\n".join(lines)
