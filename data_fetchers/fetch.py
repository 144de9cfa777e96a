"""Full-mode downloads, through pooch.

pooch downloads into a temporary file beside the target, checks the hash and only
then renames it into place, so a corrupted, truncated or interrupted download never
stays in the cache. Around it this module adds what the curriculum needs: a search
through a shared (possibly read-only) cache first, a file lock so that concurrent
notebooks download a file once, verification of files already in the cache without
ever deleting them, and one-sentence errors that name the sample mode.
"""

from __future__ import annotations

import hashlib
import json
import os
import tarfile
import warnings
from pathlib import Path

with warnings.catch_warnings():
    # pooch imports tqdm.auto, which warns "IProgress not found" in every notebook without
    # ipywidgets; text progress bars are what the book wants (widgets do not render statically)
    warnings.filterwarnings("ignore", message="IProgress not found")
    import pooch
import requests
from filelock import FileLock

from . import cache
from .errors import ChecksumMismatchError, DataError, DownloadError, UnverifiedChecksumError
from .registry import Dataset, RemoteFile

TIMEOUT_ENV = "HEPML_DOWNLOAD_TIMEOUT"  # seconds without data before giving up
RETRIES_ENV = "HEPML_DOWNLOAD_RETRIES"
UNVERIFIED_ENV = "HEPML_ACCEPT_UNVERIFIED"
# A school mirror: base URLs (separated by spaces or commas) laid out as <mirror>/<dataset>/<file>,
# tried before the canonical URLs with the same checksum verification; see `mirror.py`.
MIRROR_ENV = "HEPML_MIRROR"

_verified: set[tuple[str, int, int]] = set()  # (path, size, mtime) verified in this process


def _file_hash(path: Path, algorithm: str) -> str:
    h = hashlib.new(algorithm)
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _stamp_path(path: Path) -> Path:
    return path.with_name(path.name + ".verified.json")


def verify_cached(path: Path, rf: RemoteFile) -> None:
    """Check a file already in the cache; raise (never delete) if it does not match."""
    if rf.known_hash is None:
        return
    st = path.stat()
    key = (str(path), st.st_size, st.st_mtime_ns)
    if key in _verified:
        return
    stamp = _stamp_path(path)
    try:
        if json.loads(stamp.read_text()) == {"hash": rf.known_hash, "size": st.st_size, "mtime_ns": st.st_mtime_ns}:
            _verified.add(key)
            return
    except (OSError, ValueError):
        pass
    algorithm, expected = rf.known_hash.split(":")
    actual = _file_hash(path, algorithm)
    if actual != expected:
        raise ChecksumMismatchError(
            f"The cached file {path} has {algorithm} {actual[:12]}… but the registry expects "
            f"{expected[:12]}…; it was left untouched: move it away to download a fresh copy, "
            f"or use the sample mode (HEPML_DATA_MODE=sample)."
        )
    _verified.add(key)
    try:  # saves re-hashing gigabytes next time; impossible in a read-only shared cache
        stamp.write_text(json.dumps({"hash": rf.known_hash, "size": st.st_size, "mtime_ns": st.st_mtime_ns}))
    except OSError:
        pass


def mirror_urls() -> list[str]:
    """The base URLs of $HEPML_MIRROR, in order."""
    bases = [b.rstrip("/") for b in os.environ.get(MIRROR_ENV, "").replace(",", " ").split()]
    for base in bases:
        if not base.startswith(("http://", "https://")):
            raise DataError(f"{MIRROR_ENV} must hold http:// or https:// base URLs (got {base!r}); for a "
                            f"directory on this machine, set HEPML_CACHE_DIR instead, or unset {MIRROR_ENV}.")
    return bases


def candidate_urls(dataset: Dataset, rf: RemoteFile) -> list[str]:
    """Where ``rf`` is looked for: every school mirror first, then the registry's URLs."""
    return [f"{base}/{dataset.name}/{rf.filename}" for base in mirror_urls()] + list(rf.urls)


def _describe_failure(exc: BaseException, url: str, timeout: float) -> str:
    if isinstance(exc, requests.exceptions.HTTPError) and exc.response is not None:
        return f"the server answered HTTP {exc.response.status_code} for {url}"
    if isinstance(exc, requests.exceptions.Timeout):
        return f"{url} sent no data for {timeout:g} s (raise {TIMEOUT_ENV} on a slow link)"
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return f"the transfer from {url} was cut off before the end"
    if isinstance(exc, requests.exceptions.ConnectionError):
        return f"{url} could not be reached (no network connection?)"
    return f"{type(exc).__name__} while downloading {url}: {exc}"


def fetch_remote_file(dataset: Dataset, rf: RemoteFile, *, timeout: float | None = None,
                      retries: int | None = None, progressbar: bool = True) -> Path:
    """Return the local path of a verified copy of ``rf``, downloading it once if needed."""
    relative = Path(dataset.name) / "full" / rf.filename
    existing = cache.find_existing(relative)
    if existing is not None:
        verify_cached(existing, rf)
        return existing

    if rf.known_hash is None and os.environ.get(UNVERIFIED_ENV) != "1":
        raise UnverifiedChecksumError(
            f"No checksum for {rf.filename} of {dataset.name} is recorded in the registry yet, so its "
            f"download could not be verified; set {UNVERIFIED_ENV}=1 to download it anyway (the sha256 "
            f"is printed so that it can be added to data_fetchers/registry.py), or use the sample mode."
        )

    timeout = float(os.environ.get(TIMEOUT_ENV, 60)) if timeout is None else timeout
    retries = int(os.environ.get(RETRIES_ENV, 2)) if retries is None else retries
    target_dir = cache.writable_root() / relative.parent
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / rf.filename

    with FileLock(str(target) + ".lock"):
        if target.exists():  # another process finished the download while we waited
            verify_cached(target, rf)
            return target
        failures = []
        for url in candidate_urls(dataset, rf):
            for _attempt in range(retries + 1):
                try:
                    pooch.retrieve(
                        url, known_hash=rf.known_hash, fname=rf.filename, path=target_dir,
                        downloader=pooch.HTTPDownloader(timeout=timeout, progressbar=progressbar),
                    )
                except ValueError as exc:  # pooch's hash mismatch; the bad file is already gone
                    if "hash" not in str(exc).lower():
                        raise
                    failures.append(ChecksumMismatchError(
                        f"The file downloaded from {url} does not have the {rf.known_hash.split(':')[0]} "
                        f"recorded in the registry (corrupted or changed at the source); it was discarded"))
                except requests.exceptions.RequestException as exc:
                    failures.append(DownloadError(_describe_failure(exc, url, timeout)))
                    if isinstance(exc, requests.exceptions.HTTPError) and exc.response is not None \
                            and exc.response.status_code < 500:
                        break  # a 404 will not heal on retry: try the next source
                else:
                    if rf.known_hash is None:
                        digest = _file_hash(target, "sha256")
                        print(f"Downloaded {rf.filename} WITHOUT verification ({UNVERIFIED_ENV}=1); "
                              f"its sha256 is {digest}.")
                    else:
                        verify_cached(target, rf)  # records the stamp
                    return target
        last = failures[-1]
        # every distinct reason, one per source tried at least, so a failing mirror is not hidden
        reasons = list(dict.fromkeys(str(f) for f in failures))
        raise type(last)(
            f"Could not get {rf.filename} of {dataset.name}: {'; '.join(reasons)}; nothing was kept in the cache — "
            f"use the sample mode (HEPML_DATA_MODE=sample, the default), or copy the verified file "
            f"to {target}."
        )


def _derived_path(download: Path, name: str) -> Path:
    """Where a file derived from a download goes: beside it, unless it already exists there or
    that directory is read-only (a shared hub cache), then at the same place in a writable cache."""
    beside = download.parent / name
    if beside.exists() or cache.is_writable(download.parent):
        return beside
    relative = download.parent.relative_to(download.parent.parent.parent)  # <dataset>/full
    return cache.writable_root() / relative / name


def unpack_archive(archive: Path) -> Path:
    """Unpack a verified tar archive once, next to it (or in the user's cache if that is read-only).

    Unpacking goes to a temporary directory that is renamed into place, so an interrupted
    unpack never leaves a half-filled directory behind.
    """
    def extract(tmp: Path) -> None:
        with tarfile.open(archive) as tar:
            tar.extractall(tmp, filter="data")  # refuses absolute paths and links out of tmp

    return cache.create_once(
        _derived_path(archive, archive.name + ".unpacked"), extract, directory=True,
        catch=(OSError, tarfile.TarError),
        failure=lambda exc: DataError(f"Could not unpack {archive} ({exc}); nothing was kept — check the disk "
                                      f"space and the file, or use the sample mode."))


def find_members(directory: Path, members: list[str], dataset_name: str) -> dict[str, Path]:
    """Locate the dataset's files by name anywhere in an unpacked archive."""
    found = {}
    for member in members:
        matches = sorted(directory.rglob(member))
        if not matches:
            present = sorted(p.name for p in directory.rglob("*") if p.is_file())[:12]
            raise DataError(f"The {dataset_name} archive unpacked in {directory} has no {member} "
                            f"(it has {', '.join(present) or 'no files'}); the source may have changed — "
                            f"please report it, and use the sample mode meanwhile.")
        found[member] = matches[0]
    return found


def convert_once(download: Path, converter: str, output_name: str) -> Path:
    """Convert a verified download to the sample's format once, atomically, beside it."""
    import importlib

    module, function = converter.split(":")
    convert = getattr(importlib.import_module(f"data_fetchers.samples.{module}"), function)

    def make(tmp: Path) -> None:
        print(f"Converting {download.name} to {output_name} once ...", flush=True)
        convert(download, tmp)

    return cache.create_once(
        _derived_path(download, output_name), make, directory=False,
        failure=lambda exc: DataError(f"Could not convert {download} to {output_name} ({type(exc).__name__}: "
                                      f"{exc}); nothing was kept — use the sample mode, or report the problem."))
