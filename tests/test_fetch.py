"""Full-mode downloads against a real HTTP server on 127.0.0.1.

The server serves a good file, a corrupted one, a truncated one, a 404, a 500, one that
stalls before answering and one that trickles slowly but within the time-out. After every
failure the cache must hold nothing at all (no file, no lock file, no empty directory), and the
error must be the promised one sentence that names the sample mode.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

import data_fetchers
from data_fetchers import cache, registry
from data_fetchers.errors import ChecksumMismatchError, DownloadError, UnverifiedChecksumError
from data_fetchers import fetch as fetch_module
from data_fetchers.fetch import fetch_remote_file, verify_cached
from local_http import serve

GOOD = bytes(range(256)) * 4000  # 1 MB


def _make_tar() -> bytes:
    import io
    import tarfile
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, body in [("Tutorial/files/a.root", b"A" * 100), ("Tutorial/files/b.root", b"B" * 100)]:
            info = tarfile.TarInfo(name)
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))
    return buf.getvalue()


TAR = _make_tar()


def _evil_tar(kind: str) -> bytes:
    """An archive that tries to write outside the directory it is unpacked into."""
    import io
    import tarfile
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("Tutorial/a.root")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"AAA"))
        if kind == "dotdot":
            info = tarfile.TarInfo("../../evil.txt")
        elif kind == "absolute":
            info = tarfile.TarInfo("/tmp/hepml-evil-absolute.txt")
        elif kind == "symlink":
            info = tarfile.TarInfo("Tutorial/b.root")
            info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
        elif kind == "escaping-symlink":
            info = tarfile.TarInfo("Tutorial/b.root")
            info.type, info.linkname = tarfile.SYMTYPE, "../../../evil.txt"
        elif kind == "device":
            info = tarfile.TarInfo("Tutorial/b.root")
            info.type, info.devmajor, info.devminor = tarfile.CHRTYPE, 1, 3  # /dev/null's numbers
        body = b"evil" if info.type == tarfile.REGTYPE else b""
        info.size = len(body)
        tar.addfile(info, io.BytesIO(body))
    return buf.getvalue()


EVIL_KINDS = ["dotdot", "absolute", "symlink", "escaping-symlink", "device"]
EVIL = {kind: _evil_tar(kind) for kind in EVIL_KINDS}
GOOD_SHA256 = hashlib.sha256(GOOD).hexdigest()
HITS: Counter = Counter()


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def _send(self, body: bytes, length: int | None = None):
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        name = self.path.strip("/")
        HITS[name] += 1
        if name in ("good.bin", "other.bin"):
            self._send(GOOD)
        elif name == "archive.tar":
            self._send(TAR)
        elif name == "corrupt.bin":
            self._send(GOOD[:-10] + b"0123456789")  # same size, different bytes
        elif name == "truncated.bin":
            self._send(GOOD[: len(GOOD) // 2], length=len(GOOD))  # promise 1 MB, send half, hang up
            self.close_connection = True
        elif name == "missing.bin":
            self.send_error(404)
        elif name == "error.bin":
            self.send_error(500)
        elif name == "stall.bin":
            time.sleep(3)  # longer than the client's time-out
            self._send(GOOD)
        elif name == "trickle.bin":  # slow, but never silent for as long as the time-out
            self.send_response(200)
            self.send_header("Content-Length", str(len(GOOD)))
            self.end_headers()
            for i in range(0, len(GOOD), len(GOOD) // 5):
                self.wfile.write(GOOD[i:i + len(GOOD) // 5])
                self.wfile.flush()
                time.sleep(0.3)
        elif name == "loop.bin":  # a redirect loop: an error none of the usual descriptions covers
            self.send_response(302)
            self.send_header("Location", "/loop.bin")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif name == "mirror/test-dataset/good.bin":  # a school mirror's layout: <mirror>/<dataset>/<file>
            self._send(GOOD)
        elif name == "stale-mirror/test-dataset/good.bin":  # a mirror holding a changed file
            self._send(GOOD[::-1])
        elif name.startswith("evil-") and name.endswith(".tar"):
            self._send(EVIL[name[5:-4]])
        elif name == "endless.bin":  # no Content-Length, and far more than the file can have
            self.send_response(200)
            self.end_headers()
            for _ in range(4):
                self.wfile.write(GOOD)
            self.close_connection = True
        elif name == "drip.bin":  # one byte at a time: never silent for a whole time-out, never done
            self.send_response(200)
            self.send_header("Content-Length", str(len(GOOD)))
            self.end_headers()
            try:
                for i in range(40):
                    self.wfile.write(GOOD[i:i + 1])
                    self.wfile.flush()
                    time.sleep(0.2)
            except OSError:
                pass
        elif name == "slowgood.bin":  # for the concurrency test
            time.sleep(1)
            self._send(GOOD)
        else:
            self.send_error(404)


@pytest.fixture(scope="module")
def server():
    with serve(Handler) as url:
        yield url


@pytest.fixture
def caches(tmp_path, monkeypatch):
    """Isolated cache roots: a $HEPML_CACHE_DIR and a user cache, both under tmp_path; a fresh
    process as far as verification is concerned."""
    shared, user = tmp_path / "shared", tmp_path / "user"
    monkeypatch.setenv("HEPML_CACHE_DIR", str(shared))
    monkeypatch.setattr(cache, "user_cache_dir", lambda: user)
    for name in ("HEPML_ACCEPT_UNVERIFIED", "HEPML_MIRROR", "HEPML_DOWNLOAD_DEADLINE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(fetch_module, "_verified", set())
    HITS.clear()
    return shared, user


def make_dataset(url: str, sha256: str | None = GOOD_SHA256, name="test-dataset", **file_fields) -> registry.Dataset:
    filename = url.rsplit("/", 1)[1]
    file_fields.setdefault("size_bytes", len(GOOD))
    return registry.Dataset(
        name=name, title="test", description="test", record_url=url,
        files=(registry.RemoteFile(filename=filename, urls=(url,), sha256=sha256, **file_fields),),
        licence="CC0-1.0", citation="test", schema="bytes", sample_module="cms_dimuon",
    )


def register_archive(monkeypatch, server, name="archive.tar", body=TAR, members=("a.root", "b.root")) -> registry.Dataset:
    """A registry entry for a tar archive served as ``name``, unpacked to ``members``."""
    base = make_dataset(f"{server}/{name}")
    rf = registry.RemoteFile(name, (f"{server}/{name}",), sha256=hashlib.sha256(body).hexdigest(),
                             size_bytes=len(body), unpack=True)
    ds = registry.Dataset(**{**base.__dict__, "files": (rf,), "members": members})
    monkeypatch.setitem(registry.DATASETS, ds.name, ds)
    return ds


def register_converted(monkeypatch, server, converter) -> registry.Dataset:
    """A registry entry whose download good.bin is converted (by ``converter``) to good.root."""
    from data_fetchers.samples.atlas_higgsml import sample as atlas_higgsml
    monkeypatch.setattr(atlas_higgsml, "csv_to_root", converter)
    base = make_dataset(f"{server}/good.bin")
    rf = registry.RemoteFile("good.bin", (f"{server}/good.bin",), sha256=GOOD_SHA256, convert_to="atlas_higgsml:csv_to_root")
    ds = registry.Dataset(**{**base.__dict__, "files": (rf,), "members": ("good.root",)})
    monkeypatch.setitem(registry.DATASETS, ds.name, ds)
    return ds


def assert_nothing_left(*roots: Path) -> None:
    """A failed attempt leaves nothing behind: no file, no lock file, no empty directory (a
    verification stamp from an earlier, successful download may stay)."""
    left = [p for root in roots if root.exists() for p in root.rglob("*") if ".verified" not in p.parts]
    assert left == [], left


def cached_files(*roots: Path) -> list[Path]:
    """Everything in the caches except lock files (harmless and reused) and verification stamps."""
    return [p for root in roots if root.exists() for p in root.rglob("*")
            if p.is_file() and not p.name.endswith(".lock") and ".verified" not in p.parts]


def assert_one_sentence_naming_sample_mode(exc: BaseException):
    text = str(exc)
    assert "\n" not in text, text
    assert "sample mode" in text, text
    assert text.rstrip().endswith("."), text


def fetch(ds, **kw):
    kw.setdefault("timeout", 1.0)
    kw.setdefault("retries", 0)
    return fetch_remote_file(ds, ds.files[0], progressbar=False, **kw)


def test_good_file_is_downloaded_verified_and_reused(server, caches):
    ds = make_dataset(f"{server}/good.bin")
    path = fetch(ds)
    assert path.read_bytes() == GOOD
    assert path.parent == caches[0] / "test-dataset" / "full"  # first writable root
    assert fetch(ds) == path  # second call: served from the cache
    assert HITS["good.bin"] == 1


@pytest.mark.parametrize("name, error, words", [
    ("corrupt.bin", ChecksumMismatchError, "does not have the sha256"),
    ("truncated.bin", DownloadError, "cut off"),
    ("missing.bin", DownloadError, "HTTP 404"),
    ("error.bin", DownloadError, "HTTP 500"),
    ("stall.bin", DownloadError, "sent no data for 1 s"),
])
def test_bad_downloads_leave_nothing_and_explain(server, caches, name, error, words):
    ds = make_dataset(f"{server}/{name}")
    with pytest.raises(error) as info:
        fetch(ds)
    assert words in str(info.value)
    assert_one_sentence_naming_sample_mode(info.value)
    assert_nothing_left(*caches)


def test_retries_server_errors_but_not_404(server, caches):
    with pytest.raises(DownloadError):
        fetch(make_dataset(f"{server}/error.bin"), retries=2)
    assert HITS["error.bin"] == 3
    with pytest.raises(DownloadError):
        fetch(make_dataset(f"{server}/missing.bin"), retries=2)
    assert HITS["missing.bin"] == 1


def test_slow_but_steady_download_succeeds(server, caches):
    path = fetch(make_dataset(f"{server}/trickle.bin"), timeout=2.0)
    assert path.read_bytes() == GOOD


def test_offline_gives_one_sentence(caches):
    # port 9 (discard) is closed on this machine: the connection is refused, as when offline
    ds = make_dataset("http://127.0.0.1:9/good.bin")
    with pytest.raises(DownloadError) as info:
        fetch(ds)
    assert "could not be reached (no network connection?)" in str(info.value)
    assert_one_sentence_naming_sample_mode(info.value)
    assert_nothing_left(*caches)


def test_corrupted_cached_file_is_reported_never_deleted(server, caches):
    ds = make_dataset(f"{server}/good.bin")
    target = caches[0] / "test-dataset" / "full" / "good.bin"
    target.parent.mkdir(parents=True)
    target.write_bytes(b"not the real file")
    with pytest.raises(ChecksumMismatchError) as info:
        fetch(ds)
    assert "left untouched" in str(info.value)
    assert_one_sentence_naming_sample_mode(info.value)
    assert target.read_bytes() == b"not the real file"
    assert HITS["good.bin"] == 0


def test_prefilled_read_only_shared_cache_is_used_without_network(server, caches, monkeypatch):
    shared, user = caches
    (shared / "test-dataset" / "full").mkdir(parents=True)
    (shared / "test-dataset" / "full" / "good.bin").write_bytes(GOOD)
    # A hub mounts the shared directory read-only; root ignores permission bits, so pretend.
    monkeypatch.setattr(cache, "is_writable", lambda d: not str(d).startswith(str(shared)))
    assert fetch(make_dataset(f"{server}/good.bin")) == shared / "test-dataset" / "full" / "good.bin"
    assert HITS["good.bin"] == 0
    # a file missing from the shared cache goes to the user's own cache
    path = fetch(make_dataset(f"{server}/other.bin"))
    assert path == user / "test-dataset" / "full" / "other.bin"


def test_unpinned_checksum_needs_explicit_consent(server, caches, monkeypatch, capsys):
    ds = make_dataset(f"{server}/good.bin", sha256=None)
    with pytest.raises(UnverifiedChecksumError) as info:
        fetch(ds)
    assert "HEPML_ACCEPT_UNVERIFIED=1" in str(info.value)
    assert_one_sentence_naming_sample_mode(info.value)
    assert HITS["good.bin"] == 0
    monkeypatch.setenv("HEPML_ACCEPT_UNVERIFIED", "1")
    assert fetch(ds).read_bytes() == GOOD
    assert GOOD_SHA256 in capsys.readouterr().out


def _fetch_in_process(url, shared, user, queue):
    cache.user_cache_dir = lambda: Path(user)
    import os
    os.environ["HEPML_CACHE_DIR"] = shared
    path = fetch_remote_file(make_dataset(url), make_dataset(url).files[0], timeout=10, retries=0, progressbar=False)
    queue.put(hashlib.sha256(Path(path).read_bytes()).hexdigest())


def test_concurrent_fetches_download_once(server, caches):
    shared, user = caches
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_fetch_in_process, args=(f"{server}/slowgood.bin", str(shared), str(user), queue))
             for _ in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(30)
    assert [p.exitcode for p in procs] == [0, 0, 0]
    assert [queue.get(timeout=5) for _ in procs] == [GOOD_SHA256] * 3
    assert HITS["slowgood.bin"] == 1
    assert len(cached_files(*caches)) == 1


def test_full_mode_through_the_public_api(server, caches, monkeypatch):
    ds = make_dataset(f"{server}/good.bin")
    monkeypatch.setitem(registry.DATASETS, ds.name, ds)
    monkeypatch.setenv("HEPML_DATA_MODE", "full")
    files = data_fetchers.get(ds.name, quiet=True)
    assert files.mode == "full" and files.path.read_bytes() == GOOD


def test_archive_is_verified_unpacked_once_and_members_found(server, caches, monkeypatch):
    ds = register_archive(monkeypatch, server)
    files = data_fetchers.get(ds.name, "full", quiet=True)
    assert files["a.root"].read_bytes() == b"A" * 100 and files["b.root"].read_bytes() == b"B" * 100
    assert data_fetchers.get(ds.name, "full", quiet=True).files == files.files
    assert HITS["archive.tar"] == 1
    missing = registry.Dataset(**{**ds.__dict__, "members": ("a.root", "c.root")})
    monkeypatch.setitem(registry.DATASETS, ds.name, missing)
    with pytest.raises(data_fetchers.DataError, match=r"has no c.root \(it has a.root, b.root\)"):
        data_fetchers.get(ds.name, "full", quiet=True)


def test_download_is_converted_once_to_the_sample_format(server, caches, monkeypatch):
    calls = []

    def fake_converter(src, dst):
        calls.append(src)
        dst.write_bytes(src.read_bytes()[:10])

    ds = register_converted(monkeypatch, server, fake_converter)
    path = data_fetchers.get(ds.name, "full", quiet=True).path
    assert path.name == "good.root" and path.read_bytes() == GOOD[:10]
    assert data_fetchers.get(ds.name, "full", quiet=True).path == path
    assert len(calls) == 1


def test_failed_conversion_leaves_nothing(server, caches, monkeypatch):
    def broken(src, dst):
        dst.write_bytes(b"half")
        raise ValueError("lacks the columns ['Weight']")
    ds = register_converted(monkeypatch, server, broken)
    with pytest.raises(data_fetchers.DataError, match="nothing was kept") as info:
        data_fetchers.get(ds.name, "full", quiet=True)
    assert "sample mode" in str(info.value)
    assert [p.name for p in cached_files(*caches) if p.suffix == ".root" or p.name.endswith(".tmp")] == []


def test_archive_in_a_read_only_shared_cache_is_unpacked_into_the_user_cache(server, caches, monkeypatch):
    shared, user = caches
    (shared / "test-dataset" / "full").mkdir(parents=True)
    (shared / "test-dataset" / "full" / "archive.tar").write_bytes(TAR)
    monkeypatch.setattr(cache, "is_writable", lambda d: not str(d).startswith(str(shared)))
    ds = register_archive(monkeypatch, server)
    files = data_fetchers.get(ds.name, "full", quiet=True)
    assert HITS["archive.tar"] == 0  # the shared copy was used
    assert files["a.root"].is_relative_to(user / "test-dataset" / "full" / "archive.tar.unpacked")
    assert files["a.root"].read_bytes() == b"A" * 100


# ------------------------------------------------------------ school mirror (HEPML_MIRROR)
def test_mirror_is_tried_before_the_canonical_url(server, caches, monkeypatch):
    monkeypatch.setenv("HEPML_MIRROR", f"{server}/mirror")
    assert fetch(make_dataset(f"{server}/good.bin")).read_bytes() == GOOD
    assert HITS == Counter({"mirror/test-dataset/good.bin": 1})


@pytest.mark.parametrize("mirrors", ["{server}/empty-mirror", "http://127.0.0.1:9/down {server}/empty-mirror",
                                     "{server}/stale-mirror"])
def test_a_failing_or_stale_mirror_falls_back_to_the_canonical_url(server, caches, monkeypatch, mirrors):
    monkeypatch.setenv("HEPML_MIRROR", mirrors.format(server=server))
    assert fetch(make_dataset(f"{server}/good.bin")).read_bytes() == GOOD
    assert HITS["good.bin"] == 1


def test_every_source_failing_names_each_reason(server, caches, monkeypatch):
    monkeypatch.setenv("HEPML_MIRROR", f"{server}/stale-mirror")
    with pytest.raises(DownloadError) as info:
        fetch(make_dataset(f"{server}/missing.bin"))
    text = str(info.value)
    assert "stale-mirror/test-dataset/missing.bin" in text and "HTTP 404" in text
    assert_one_sentence_naming_sample_mode(info.value)
    assert_nothing_left(*caches)


def test_a_mirror_that_is_not_a_url_is_explained(server, caches, monkeypatch):
    monkeypatch.setenv("HEPML_MIRROR", "/srv/hepml-mirror")
    with pytest.raises(data_fetchers.DataError, match="HEPML_CACHE_DIR instead"):
        fetch(make_dataset(f"{server}/good.bin"))


def test_mirror_command_lays_out_verified_cache_files(server, caches, monkeypatch, tmp_path, capsys):
    from data_fetchers.__main__ import main as cli

    ds = make_dataset(f"{server}/good.bin")
    monkeypatch.setitem(registry.DATASETS, ds.name, ds)
    fetch(ds)
    out = tmp_path / "mirror-dir"
    assert cli(["mirror", str(out), ds.name]) == 0
    assert "1 file(s) in the mirror" in capsys.readouterr().out
    served = out / "test-dataset" / "good.bin"
    assert served.read_bytes() == GOOD and served.stat().st_mode & 0o777 == 0o644
    assert served.parent.stat().st_mode & 0o777 == 0o755  # a web server can enter it
    # a corrupted cache file is refused, never copied to the students
    (caches[0] / "test-dataset" / "full" / "good.bin").write_bytes(GOOD[::-1])
    served.unlink()
    assert cli(["mirror", str(out), ds.name]) == 1
    assert not served.exists()


# ------------------------------------------------------------ the trust boundary
def test_publishers_checksums_are_verified(server, caches):
    """Zenodo publishes md5s and CERN Open Data Adler-32s: both are checked, bad copies discarded."""
    import zlib
    adler = f"{zlib.adler32(GOOD):08x}"
    md5 = hashlib.md5(GOOD).hexdigest()
    assert fetch(make_dataset(f"{server}/good.bin", sha256=None, adler32=adler, name="a")).read_bytes() == GOOD
    assert fetch(make_dataset(f"{server}/good.bin", sha256=None, md5=md5, name="m")).read_bytes() == GOOD
    for name, fields in (("a2", {"adler32": adler}), ("m2", {"md5": md5})):
        with pytest.raises(ChecksumMismatchError, match="does not have the (adler32|md5) recorded"):
            fetch(make_dataset(f"{server}/corrupt.bin", sha256=None, name=name, **fields))
    assert [p.name for p in cached_files(*caches)] == ["good.bin", "good.bin"]


def test_adler32_is_zlibs():
    import zlib
    assert fetch_module.file_checksum.__module__ == "data_fetchers.fetch"
    assert registry.RemoteFile("x", ("https://x",), adler32="0A0B0C0D").known_hash == "adler32:0a0b0c0d"
    assert registry.RemoteFile("x", ("https://x",), md5="ab" * 16, adler32="1").known_hash == "md5:" + "ab" * 16
    assert f"{zlib.adler32(b'Wikipedia'):08x}" == "11e60398"  # the textbook example


def test_file_checksums(tmp_path):
    path = tmp_path / "w.txt"
    path.write_bytes(b"Wikipedia" * 200_000)  # more than one read block
    import zlib
    assert fetch_module.file_checksum(path, "adler32") == f"{zlib.adler32(path.read_bytes()):08x}"
    assert fetch_module.file_checksum(path, "md5") == hashlib.md5(path.read_bytes()).hexdigest()
    assert fetch_module.file_checksum(path, "sha256") == hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("value, accepted", [("1", True), ("yes", True), ("TRUE", True), (" on ", True),
                                             ("0", False), ("no", False), ("false", False), ("", False), ("off", False)])
def test_consent_to_unverified_downloads_must_be_a_yes(server, caches, monkeypatch, value, accepted):
    monkeypatch.setenv("HEPML_ACCEPT_UNVERIFIED", value)
    ds = make_dataset(f"{server}/good.bin", sha256=None)
    if accepted:
        assert fetch(ds).read_bytes() == GOOD
    else:
        with pytest.raises(UnverifiedChecksumError):
            fetch(ds)
        assert HITS["good.bin"] == 0


def test_unclear_consent_is_explained(server, caches, monkeypatch):
    monkeypatch.setenv("HEPML_ACCEPT_UNVERIFIED", "maybe")
    with pytest.raises(data_fetchers.DataError, match="'maybe' is not understood: set it to 1"):
        fetch(make_dataset(f"{server}/good.bin", sha256=None))
    assert HITS["good.bin"] == 0


def test_a_stamp_saves_rehashing_but_a_changed_file_is_rehashed(server, caches, monkeypatch):
    ds = make_dataset(f"{server}/good.bin")
    path = fetch(ds)
    rf = ds.files[0]
    monkeypatch.setattr(fetch_module, "_verified", set())  # a new kernel
    calls = []
    real = fetch_module.file_checksum
    monkeypatch.setattr(fetch_module, "file_checksum", lambda p, a: calls.append(p) or real(p, a))
    verify_cached(path, rf)
    assert calls == []  # the stamp vouched for the file
    # the file is replaced by one of the same size, its modification time set back: a stale stamp
    st = path.stat()
    path.write_bytes(GOOD[::-1])
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    monkeypatch.setattr(fetch_module, "_verified", set())
    with pytest.raises(ChecksumMismatchError):
        verify_cached(path, rf)
    assert calls == [path]


def test_a_forged_stamp_is_ignored(server, caches, monkeypatch):
    ds = make_dataset(f"{server}/good.bin")
    path = fetch(ds)
    path.write_bytes(GOOD[::-1])  # a different file, then a stamp claiming it was verified
    identity = fetch_module._identity(path, ds.files[0].known_hash)
    stamp = fetch_module._stamp_path(identity)
    stamp.write_text(json.dumps({"identity": list(identity), "mac": "0" * 64}))
    monkeypatch.setattr(fetch_module, "_verified", set())
    with pytest.raises(ChecksumMismatchError):
        verify_cached(path, ds.files[0])
    # a stamp beside the file, in the old style, is not looked at either
    (path.parent / (path.name + ".verified.json")).write_text(json.dumps({"hash": ds.files[0].known_hash}))
    with pytest.raises(ChecksumMismatchError):
        verify_cached(path, ds.files[0])


def test_stamps_are_keyed_by_a_private_user_secret(server, caches):
    fetch(make_dataset(f"{server}/good.bin"))
    key = caches[1] / ".verified" / "key"
    assert key.stat().st_mode & 0o777 == 0o600 and len(key.read_bytes()) == 32


def test_a_download_larger_than_the_file_is_refused(server, caches):
    with pytest.raises(DownloadError, match="sent more than the file's 1,000 bytes") as info:
        fetch(make_dataset(f"{server}/good.bin", size_bytes=1000))  # announced as 1 MB
    assert_one_sentence_naming_sample_mode(info.value)
    assert_nothing_left(*caches)


def test_an_endless_source_is_cut_at_the_bound(server, caches, monkeypatch):
    monkeypatch.setenv("HEPML_ACCEPT_UNVERIFIED", "1")
    with pytest.raises(DownloadError, match="sent more than the file's 1,024,000 bytes"):
        fetch(make_dataset(f"{server}/endless.bin", sha256=None, size_bytes=None, max_bytes=len(GOOD)))
    assert_nothing_left(*caches)


def test_a_trickling_source_meets_the_overall_deadline(server, caches, monkeypatch):
    monkeypatch.setenv("HEPML_DOWNLOAD_DEADLINE", "1.5")
    start = time.perf_counter()
    with pytest.raises(DownloadError, match="took longer than its 1.5 s deadline") as info:
        fetch(make_dataset(f"{server}/drip.bin"), timeout=1.0)  # each byte comes within the time-out
    assert time.perf_counter() - start < 5
    assert_one_sentence_naming_sample_mode(info.value)
    assert_nothing_left(*caches)


def test_the_default_deadline_scales_with_the_size(monkeypatch):
    monkeypatch.delenv("HEPML_DOWNLOAD_DEADLINE", raising=False)
    assert fetch_module.download_deadline(0) == 600
    assert fetch_module.download_deadline(2_500_000_000) == 600 + 10_000


def test_every_registered_file_has_a_size_bound():
    for ds in registry.DATASETS.values():
        for rf in ds.files:
            assert rf.size_bytes or rf.max_bytes, f"{ds.name}/{rf.filename}: give its published size or a bound"
            if rf.known_hash:
                assert rf.checksum_source, f"{ds.name}/{rf.filename}: say where the checksum was published"


@pytest.mark.parametrize("kind", EVIL_KINDS)
def test_a_malicious_archive_is_refused_and_leaves_nothing(server, caches, monkeypatch, tmp_path, kind):
    ds = register_archive(monkeypatch, server, name=f"evil-{kind}.tar", body=EVIL[kind])
    rf = ds.files[0]
    with pytest.raises(data_fetchers.DataError) as info:
        data_fetchers.get(ds.name, "full", quiet=True)
    assert_one_sentence_naming_sample_mode(info.value)
    assert not (tmp_path / "evil.txt").exists() and not Path("/tmp/hepml-evil-absolute.txt").exists()
    if kind == "absolute":  # tarfile's data filter strips the leading "/": the member lands inside
        assert "has no b.root (it has a.root, hepml-evil-absolute.txt)" in str(info.value)
        return
    assert "Could not unpack" in str(info.value)
    assert [p.name for p in cached_files(*caches)] == [rf.filename]  # only the verified download
    assert not any(p.name.endswith(".unpacked") or "-tmp-" in p.name for p in caches[0].rglob("*"))


def test_an_unexpected_download_error_is_still_one_sentence(server, caches):
    with pytest.raises(DownloadError, match=r"TooManyRedirects while downloading .*loop.bin") as info:
        fetch(make_dataset(f"{server}/loop.bin"))
    assert_one_sentence_naming_sample_mode(info.value)


def test_a_file_that_appears_while_waiting_for_the_lock_is_verified(server, caches, monkeypatch):
    """Another process may finish the download while this one waits: its file is checked too."""
    ds = make_dataset(f"{server}/good.bin")
    target = caches[0] / "test-dataset" / "full" / "good.bin"

    class OtherProcessWritesFirst:
        def __init__(self, path):
            pass

        def __enter__(self):
            target.write_bytes(GOOD[::-1])  # what the other process left: not the registry's file

        def __exit__(self, *exc):
            return False
    monkeypatch.setattr(fetch_module, "FileLock", OtherProcessWritesFirst)
    with pytest.raises(ChecksumMismatchError):
        fetch(ds)
    assert HITS["good.bin"] == 0


def test_an_archive_already_unpacked_in_a_read_only_shared_cache_is_used(server, caches, monkeypatch):
    shared, user = caches
    (shared / "test-dataset" / "full" / "archive.tar.unpacked" / "files").mkdir(parents=True)
    (shared / "test-dataset" / "full" / "archive.tar").write_bytes(TAR)
    for name in ("a.root", "b.root"):
        (shared / "test-dataset" / "full" / "archive.tar.unpacked" / "files" / name).write_bytes(b"X")
    monkeypatch.setattr(cache, "is_writable", lambda d: not str(d).startswith(str(shared)))
    ds = register_archive(monkeypatch, server)
    files = data_fetchers.get(ds.name, "full", quiet=True)
    assert files["a.root"].is_relative_to(shared) and not (user / "test-dataset").exists()


def test_a_converter_failing_before_writing_gives_the_books_error(server, caches, monkeypatch):
    def fails_at_once(src, dst):
        raise ValueError("not the challenge's CSV")
    ds = register_converted(monkeypatch, server, fails_at_once)
    with pytest.raises(data_fetchers.DataError, match="not the challenge's CSV"):
        data_fetchers.get(ds.name, "full", quiet=True)


def test_a_verified_cached_file_is_not_hashed_again_by_the_next_kernel(server, caches, monkeypatch):
    ds = make_dataset(f"{server}/good.bin")
    target = caches[0] / "test-dataset" / "full" / "good.bin"
    target.parent.mkdir(parents=True)
    target.write_bytes(GOOD)  # a file someone put in the cache: hashed once, then stamped
    calls = []
    real = fetch_module.file_checksum
    monkeypatch.setattr(fetch_module, "file_checksum", lambda p, a: calls.append(p) or real(p, a))
    assert fetch(ds) == target and len(calls) == 1
    monkeypatch.setattr(fetch_module, "_verified", set())  # a new kernel
    assert fetch(ds) == target and len(calls) == 1


def test_the_mirror_is_readable_whatever_the_umask(server, caches, monkeypatch, tmp_path):
    from data_fetchers.__main__ import main as cli

    ds = make_dataset(f"{server}/good.bin")
    monkeypatch.setitem(registry.DATASETS, ds.name, ds)
    fetch(ds)
    old = os.umask(0o077)
    try:
        assert cli(["mirror", str(tmp_path / "m"), ds.name]) == 0
    finally:
        os.umask(old)
    for directory in (tmp_path / "m", tmp_path / "m" / "test-dataset"):
        assert directory.stat().st_mode & 0o777 == 0o755
    assert (tmp_path / "m" / "test-dataset" / "good.bin").stat().st_mode & 0o777 == 0o644
