"""Full-mode downloads, through pooch, and the trust boundary around them.

pooch downloads into a temporary file beside the target and renames it into place, so an
interrupted download never stays in the cache. Around it this module adds what the
curriculum needs:

* a search through a shared (possibly read-only) cache first, and school mirrors
  (``HEPML_MIRROR``) before the canonical URLs;
* verification of every download before it is used, against the checksum the publisher
  gives (sha256, or md5 from Zenodo, or Adler-32 from CERN Open Data, which pooch cannot
  check: hence the verification here), and of every cached file before it is used, without
  ever deleting a file a user already has;
* a size bound (the registry's published size) and an overall deadline on each download,
  besides the per-read timeout, so that a trickling or endless source cannot stall a kernel
  for ever or fill a shared disk;
* explicit consent (``HEPML_ACCEPT_UNVERIFIED=1``) for a file whose checksum is not recorded;
* one-sentence errors that name the sample mode.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import socket
import tarfile
import threading
import warnings
import zlib
from contextlib import contextmanager
from pathlib import Path

with warnings.catch_warnings():
    # pooch imports tqdm.auto, which warns "IProgress not found" in every notebook without
    # ipywidgets; text progress bars are what the book wants (widgets do not render statically)
    warnings.filterwarnings("ignore", message="IProgress not found")
    import pooch
import requests
from filelock import FileLock
from tqdm import tqdm

from . import cache
from .errors import ChecksumMismatchError, DataError, DownloadError, UnverifiedChecksumError
from .registry import Dataset, RemoteFile

TIMEOUT_ENV = "HEPML_DOWNLOAD_TIMEOUT"  # seconds without data before giving up
DEADLINE_ENV = "HEPML_DOWNLOAD_DEADLINE"  # seconds for a whole download
RETRIES_ENV = "HEPML_DOWNLOAD_RETRIES"
UNVERIFIED_ENV = "HEPML_ACCEPT_UNVERIFIED"
# A school mirror: base URLs (separated by spaces or commas) laid out as <mirror>/<dataset>/<file>,
# tried before the canonical URLs with the same checksum verification; see `mirror.py`.
MIRROR_ENV = "HEPML_MIRROR"
MIN_RATE_BYTES_S = 250_000  # the default deadline assumes at least 2 Mbit/s, plus 10 minutes
YES, NO = ("1", "yes", "true", "on"), ("", "0", "no", "false", "off")

_verified: set[tuple] = set()  # files verified by this process: (path, inode, size, mtime, ctime, hash)


# ---------------------------------------------------------------- checksums
def file_checksum(path: Path, algorithm: str) -> str:
    """The hex digest of ``path``: any hashlib algorithm, or ``adler32`` (CERN Open Data's)."""
    if algorithm == "adler32":
        value = 1
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                value = zlib.adler32(block, value)
        return f"{value:08x}"
    h = hashlib.new(algorithm)
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _identity(path: Path, known_hash: str) -> tuple:
    """What a verification vouches for. The change time (ctime) moves whenever the file's
    content or metadata is changed, and unlike the modification time it cannot be set back."""
    st = path.stat()
    return (str(path.resolve()), st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns, known_hash)


# Verification stamps save re-hashing gigabytes in every new kernel. They live in the user's own
# cache (a shared cache is read-only for students) and carry an HMAC with a key only this user can
# read, so a stamp written by anyone else, or left from an earlier version of the file, is ignored.
def _stamp_dir() -> Path:
    return cache.user_cache_dir() / ".verified"


def _stamp_key() -> bytes:
    path = _stamp_dir() / "key"
    try:
        return path.read_bytes()
    except OSError:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another kernel created it meanwhile
            return path.read_bytes()
        with os.fdopen(fd, "wb") as fh:
            fh.write(secrets.token_bytes(32))
        return path.read_bytes()


def _stamp_path(identity: tuple) -> Path:
    return _stamp_dir() / (hashlib.sha256(identity[0].encode()).hexdigest() + ".json")


def _stamp_mac(identity: tuple) -> str:
    return hmac.new(_stamp_key(), json.dumps(identity).encode(), hashlib.sha256).hexdigest()


def _has_valid_stamp(identity: tuple) -> bool:
    try:
        stamp = json.loads(_stamp_path(identity).read_text())
        return stamp.get("identity") == list(identity) and hmac.compare_digest(stamp.get("mac", ""), _stamp_mac(identity))
    except (OSError, ValueError, AttributeError):
        return False


def _write_stamp(identity: tuple) -> None:
    try:
        path = _stamp_path(identity)
        path.write_text(json.dumps({"identity": list(identity), "mac": _stamp_mac(identity)}))
    except OSError:  # no writable user cache: the file is simply hashed again next time
        pass


def verify_cached(path: Path, rf: RemoteFile) -> None:
    """Check a file already in the cache; raise (never delete) if it does not match."""
    if rf.known_hash is None:
        return
    identity = _identity(path, rf.known_hash)
    if identity in _verified or _has_valid_stamp(identity):
        _verified.add(identity)
        return
    algorithm, expected = rf.known_hash.split(":")
    actual = file_checksum(path, algorithm)
    if actual != expected:
        raise ChecksumMismatchError(
            f"The cached file {path} has {algorithm} {actual[:12]}… but the registry expects "
            f"{expected[:12]}…; it was left untouched: move it away to download a fresh copy, "
            f"or use the sample mode (HEPML_DATA_MODE=sample)."
        )
    _verified.add(identity)
    _write_stamp(identity)


def unverified_consent() -> bool:
    """True only when ``HEPML_ACCEPT_UNVERIFIED`` says yes (1, yes, true, on)."""
    value = os.environ.get(UNVERIFIED_ENV, "").strip().lower()
    if value in YES:
        return True
    if value in NO:
        return False
    raise DataError(f"{UNVERIFIED_ENV}={os.environ[UNVERIFIED_ENV]!r} is not understood: set it to 1 to download "
                    f"files whose checksum is not recorded yet, or unset it (the sample mode needs neither).")


# ---------------------------------------------------------------- sources
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


# ---------------------------------------------------------------- a bounded download
class TooLargeError(requests.exceptions.RequestException):
    """The source sent more bytes than the file can have."""


class DeadlineError(requests.exceptions.RequestException):
    """The whole download took longer than its deadline."""


def download_deadline(limit_bytes: int) -> float:
    """Seconds allowed for a whole download: $HEPML_DOWNLOAD_DEADLINE, else 10 minutes plus the
    time the file takes at 2 Mbit/s."""
    value = os.environ.get(DEADLINE_ENV)
    return float(value) if value else 600 + limit_bytes / MIN_RATE_BYTES_S


class BoundedDownloader:
    """A pooch downloader (``downloader(url, output_file, pooch)``) with bounds pooch's own
    HTTPDownloader lacks: it stops at ``limit_bytes`` and at an overall deadline. requests'
    timeout is per read, so a source trickling one byte a minute never trips it: a watchdog
    closes the connection at the deadline, which ends a read that is blocked."""

    def __init__(self, timeout: float, limit_bytes: int, deadline_s: float, progressbar: bool = True):
        self.timeout, self.limit_bytes, self.deadline_s, self.progressbar = timeout, limit_bytes, deadline_s, progressbar

    def __call__(self, url: str, output_file, pooch_obj=None, check_only: bool = False):
        overdue = threading.Event()
        with requests.get(url, stream=True, timeout=self.timeout) as response:
            response.raise_for_status()
            announced = int(response.headers.get("Content-Length") or 0)
            if announced > self.limit_bytes:
                raise TooLargeError(f"{announced} > {self.limit_bytes}")

            def expire():
                overdue.set()
                _abort(response)

            watchdog = threading.Timer(self.deadline_s, expire)
            watchdog.daemon = True
            watchdog.start()
            written = 0
            try:
                with open(output_file, "wb") as out, tqdm(total=announced or None, unit="B", unit_scale=True,
                                                          desc=url.rsplit("/", 1)[-1][:40],
                                                          disable=not self.progressbar, mininterval=1) as bar:
                    for chunk in response.iter_content(chunk_size=1 << 16):
                        written += len(chunk)
                        if written > self.limit_bytes:
                            raise TooLargeError(f"more than {self.limit_bytes}")
                        out.write(chunk)
                        bar.update(len(chunk))
                        if overdue.is_set():
                            break
            except (requests.exceptions.RequestException, OSError, AttributeError, ValueError) as exc:
                if overdue.is_set():  # the watchdog closed the connection under the read
                    raise DeadlineError(str(exc)) from exc
                raise
            finally:
                watchdog.cancel()
            if overdue.is_set():
                raise DeadlineError("deadline")


def _abort(response: requests.Response) -> None:
    """End a streaming response from another thread, waking a read blocked on its socket.
    ``response.close()`` alone does not wake it, and requests exposes the socket only through
    http.client's internals: if those change, fall back on close (the read then ends with the
    server's next byte)."""
    try:
        response.raw._fp.fp.raw._sock.shutdown(socket.SHUT_RDWR)
    except (AttributeError, OSError):
        pass
    response.close()


@contextmanager
def _quiet_pooch():
    """pooch logs every download at INFO level; the book prints its own progress."""
    logger = pooch.get_logger()
    level = logger.level
    logger.setLevel("WARNING")
    try:
        yield
    finally:
        logger.setLevel(level)


def _describe_failure(exc: BaseException, url: str, timeout: float, limit: int, deadline: float) -> str:
    if isinstance(exc, requests.exceptions.HTTPError) and exc.response is not None:
        return f"the server answered HTTP {exc.response.status_code} for {url}"
    if isinstance(exc, TooLargeError):
        return f"{url} sent more than the file's {limit:,} bytes, so the download was stopped"
    if isinstance(exc, DeadlineError):
        return f"the download from {url} took longer than its {deadline:g} s deadline (raise {DEADLINE_ENV} on a slow link)"
    if isinstance(exc, requests.exceptions.Timeout):
        return f"{url} sent no data for {timeout:g} s (raise {TIMEOUT_ENV} on a slow link)"
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return f"the transfer from {url} was cut off before the end"
    if isinstance(exc, requests.exceptions.ConnectionError):
        return f"{url} could not be reached (no network connection?)"
    return f"{type(exc).__name__} while downloading {url}: {exc}"


def _download_verified(url: str, downloaded: Path, rf: RemoteFile, downloader: BoundedDownloader) -> None:
    """Download ``url`` to ``downloaded`` (through pooch) and check it against the registry;
    raise DownloadError or ChecksumMismatchError with the reason."""
    try:
        with _quiet_pooch():
            pooch.retrieve(url, known_hash=None, fname=downloaded.name, path=downloaded.parent, downloader=downloader)
    except requests.exceptions.RequestException as exc:
        raise DownloadError(_describe_failure(exc, url, downloader.timeout, downloader.limit_bytes,
                                              downloader.deadline_s)) from exc
    if rf.known_hash is not None:
        algorithm, expected = rf.known_hash.split(":")
        if file_checksum(downloaded, algorithm) != expected:
            raise ChecksumMismatchError(
                f"the file downloaded from {url} does not have the {algorithm} recorded in the registry "
                f"(corrupted or changed at the source) and was discarded")
    elif rf.size_bytes is not None and downloaded.stat().st_size != rf.size_bytes:
        raise DownloadError(f"the file downloaded from {url} has {downloaded.stat().st_size:,} bytes, "
                            f"not the published {rf.size_bytes:,}")


def fetch_remote_file(dataset: Dataset, rf: RemoteFile, *, timeout: float | None = None,
                      retries: int | None = None, progressbar: bool = True) -> Path:
    """Return the local path of a verified copy of ``rf``, downloading it once if needed."""
    relative = Path(dataset.name) / "full" / rf.filename
    existing = cache.find_existing(relative)
    if existing is not None:
        verify_cached(existing, rf)
        return existing

    if rf.known_hash is None and not unverified_consent():
        raise UnverifiedChecksumError(
            f"No checksum for {rf.filename} of {dataset.name} is recorded in the registry yet, so its "
            f"download could not be verified; set {UNVERIFIED_ENV}=1 to download it anyway (the sha256 "
            f"is printed so that it can be added to data_fetchers/registry.py), or use the sample mode."
        )

    timeout = float(os.environ.get(TIMEOUT_ENV, 60)) if timeout is None else timeout
    retries = int(os.environ.get(RETRIES_ENV, 2)) if retries is None else retries
    limit = rf.size_limit
    deadline = download_deadline(limit)
    target_dir = cache.writable_root() / relative.parent
    created = cache.make_dirs(target_dir)
    target = target_dir / rf.filename
    downloaded = target_dir / f".{rf.filename}.download"  # verified before it gets the real name
    lock = str(target) + ".lock"
    try:
        return _download_under_lock(dataset, rf, target, downloaded, lock, timeout, retries, limit, deadline,
                                    progressbar)
    except BaseException:
        # a failed (or interrupted) attempt leaves nothing behind: no lock file, no empty directory
        cache.remove_empty_dirs(created)
        raise


def _download_under_lock(dataset, rf, target, downloaded, lock, timeout, retries, limit, deadline, progressbar):
    with FileLock(lock):
        try:
            return _try_sources(dataset, rf, target, downloaded, timeout, retries, limit, deadline, progressbar)
        except BaseException:
            downloaded.unlink(missing_ok=True)  # an interrupted download (Ctrl-C, a killed kernel's last act)
            cache.remove_lock_file(lock)
            raise


def _try_sources(dataset, rf, target, downloaded, timeout, retries, limit, deadline, progressbar):
    if target.exists():  # another process finished the download while we waited
        verify_cached(target, rf)
        return target
    failures = []
    for url in candidate_urls(dataset, rf):
        for _attempt in range(retries + 1):
            downloaded.unlink(missing_ok=True)
            try:
                _download_verified(url, downloaded, rf, BoundedDownloader(timeout, limit, deadline, progressbar))
            except (DownloadError, ChecksumMismatchError) as exc:
                downloaded.unlink(missing_ok=True)
                failures.append(exc)
                cause = exc.__cause__
                if isinstance(cause, requests.exceptions.HTTPError) and cause.response is not None \
                        and cause.response.status_code < 500:
                    break  # a 404 will not heal on retry: try the next source
                continue
            downloaded.chmod(cache.SHARED_FILE_MODE)  # pooch's temporary files are private (0600)
            downloaded.rename(target)
            if rf.known_hash is None:
                print(f"Downloaded {rf.filename} WITHOUT verification ({UNVERIFIED_ENV}=1); "
                      f"its sha256 is {file_checksum(target, 'sha256')}.")
            else:
                _verified.add(_identity(target, rf.known_hash))
                _write_stamp(_identity(target, rf.known_hash))
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
    cache.ensure_readable(beside)
    if beside.exists() or cache.is_writable(download.parent):
        return beside
    relative = download.parent.relative_to(download.parent.parent.parent)  # <dataset>/full
    return cache.writable_root() / relative / name


def unpack_archive(archive: Path) -> Path:
    """Unpack a verified tar archive once, next to it (or in the user's cache if that is read-only).

    Unpacking goes to a temporary directory that is renamed into place, so an interrupted
    unpack never leaves a half-filled directory behind. The ``data`` filter refuses members
    with absolute paths or ``..``, links that point outside, and device nodes.
    """
    def extract(tmp: Path) -> None:
        with tarfile.open(archive) as tar:
            tar.extractall(tmp, filter="data")

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


def find_converter(converter: str):
    """The function a registry's ``convert_to = "module:function"`` names, in ``samples/<module>/sample.py``."""
    import importlib

    module, function = converter.split(":")
    return getattr(importlib.import_module(f"data_fetchers.samples.{module}.sample"), function)


def convert_once(download: Path, converter: str, output_name: str) -> Path:
    """Convert a verified download to the sample's format once, atomically, beside it."""
    convert = find_converter(converter)

    def make(tmp: Path) -> None:
        print(f"Converting {download.name} to {output_name} once ...", flush=True)
        convert(download, tmp)

    return cache.create_once(
        _derived_path(download, output_name), make, directory=False,
        failure=lambda exc: DataError(f"Could not convert {download} to {output_name} ({type(exc).__name__}: "
                                      f"{exc}); nothing was kept — use the sample mode, or report the problem."))
