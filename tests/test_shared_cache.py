"""A hub's shared cache, for real: filled by an administrator (root, with a strict umask), read by
a student (another user) for whom the directory is genuinely read-only.

Needs root (to create files as one user and read them as another); skipped with one line
elsewhere. No permission check is stubbed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import pwd
import multiprocessing
import subprocess
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

import data_fetchers
from data_fetchers import cache, registry, samples

ROOT = Path(__file__).resolve().parents[1]
STUDENT = "nobody"

samples.get_recipe(data_fetchers.get_dataset("cms-dimuon-2012"))  # import the generator module now (see as_student)

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to act as an administrator and a student")


@pytest.fixture
def hub(monkeypatch):
    """A shared cache (root's, world-traversable) and a student's own cache; cleaned up after."""
    base = Path(tempfile.mkdtemp(prefix="hepml-hub-"))
    base.chmod(0o755)
    shared, student_home = base / "shared", base / "student"
    student_home.mkdir()
    os.chown(student_home, pwd.getpwnam(STUDENT).pw_uid, pwd.getpwnam(STUDENT).pw_gid)
    monkeypatch.setenv("HEPML_CACHE_DIR", str(shared))
    monkeypatch.setattr(cache, "user_cache_dir", lambda: base / "admin-own-cache")
    old_umask = os.umask(0o077)  # an administrator with private defaults
    yield shared, student_home
    os.umask(old_umask)
    subprocess.run(["rm", "-rf", str(base)], check=False)


def _student_process(student_home, function, queue):
    user = pwd.getpwnam(STUDENT)
    os.setgroups([])
    os.setgid(user.pw_gid)
    os.setuid(user.pw_uid)  # from here on, a student with no special rights
    os.environ.update(HOME=str(student_home), XDG_CACHE_HOME=str(student_home / ".cache"))
    try:
        queue.put(("ok", function()))
    except BaseException as exc:  # report whatever the student would see
        queue.put((type(exc).__name__, str(exc)))


def as_student(student_home: Path, function):
    """Run ``function`` in a forked process that has become another user. Forked, not executed:
    the interpreter lives under /root, which another user cannot enter, so everything the
    function needs must already be imported here."""
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    process = ctx.Process(target=_student_process, args=(student_home, function, queue))
    process.start()
    process.join(60)
    return queue.get(timeout=5)


def fake_generate(directory: Path, n: int, seed: int) -> None:
    for name in data_fetchers.get_dataset("cms-dimuon-2012").filenames:
        (directory / name).write_bytes(b"sample bytes")


def test_a_sample_filled_by_the_administrator_is_readable_by_a_student(hub, monkeypatch):
    shared, student_home = hub
    real = samples.get_recipe(data_fetchers.get_dataset("cms-dimuon-2012"))
    monkeypatch.setattr(samples, "get_recipe", lambda ds: samples.SampleRecipe(
        real.dataset, real.version, real.seed, real.n_events, real.summary, real.doc, fake_generate))
    directory = samples.ensure_sample(data_fetchers.get_dataset("cms-dimuon-2012"), quiet=True)
    assert directory.is_relative_to(shared) and directory.stat().st_mode & 0o777 == 0o755
    monkeypatch.undo()  # the student uses the real recipe: same sample key, so the shared sample is found
    monkeypatch.setenv("HEPML_CACHE_DIR", str(shared))
    status, result = as_student(student_home, lambda: (
        data_fetchers.get("cms-dimuon-2012", "sample", quiet=True).path.read_bytes(), str(cache.writable_root())))
    assert status == "ok", result
    assert result[0] == b"sample bytes"
    assert result[1].startswith(str(student_home))  # the shared directory is read-only: writes go home


def test_a_download_filled_by_the_administrator_is_readable_by_a_student(hub, monkeypatch):
    shared, student_home = hub
    body = b"real open data" * 1000

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    ds = registry.DATASETS["cms-dimuon-2012"]
    pinned = dataclasses.replace(ds.files[0], urls=(f"http://127.0.0.1:{httpd.server_address[1]}/file.root",),
                                 sha256=hashlib.sha256(body).hexdigest(), adler32=None, size_bytes=len(body))
    monkeypatch.setitem(registry.DATASETS, ds.name, dataclasses.replace(ds, files=(pinned,)))
    try:  # the administrator fills the shared cache through the real download path
        admin_path = data_fetchers.get(ds.name, "full", quiet=True).path
    finally:
        httpd.shutdown()
    assert admin_path.is_relative_to(shared)
    status, result = as_student(student_home, lambda: data_fetchers.get(ds.name, "full", quiet=True).path.read_bytes())
    assert (status, result) == ("ok", body)


def test_unreadable_shared_content_gets_one_sentence_not_a_permission_error(hub):
    shared, student_home = hub
    private = shared / "cms-dimuon-2012"
    private.mkdir(parents=True)
    sample = private / samples.get_recipe(data_fetchers.get_dataset("cms-dimuon-2012")).key()
    sample.mkdir()
    (sample / "Run2012BC_DoubleMuParked_Muons.root").write_bytes(b"x")
    os.chmod(sample, 0o700)  # what tempfile.mkdtemp used to leave
    os.chmod(shared, 0o755)
    os.chmod(private, 0o755)
    status, message = as_student(student_home, lambda: data_fetchers.get("cms-dimuon-2012", "sample", quiet=True))
    assert status == "DataError", (status, message)
    assert message.startswith("The data cache") and "chmod -R a+rX" in message and "\n" not in message


def test_an_unreadable_unpacked_archive_gets_one_sentence(hub, monkeypatch):
    shared, student_home = hub
    body = b"x"
    full = shared / "cms-hep-tutorial-2012" / "full"
    unpacked = full / "HEPTutorial_0.tar.unpacked"
    unpacked.mkdir(parents=True)
    (full / "HEPTutorial_0.tar").write_bytes(body)
    for path in (shared, shared / "cms-hep-tutorial-2012", full):
        os.chmod(path, 0o755)
    os.chmod(full / "HEPTutorial_0.tar", 0o644)
    os.chmod(unpacked, 0o700)  # unpacked by an administrator with private permissions
    ds = registry.DATASETS["cms-hep-tutorial-2012"]
    monkeypatch.setitem(registry.DATASETS, ds.name, dataclasses.replace(
        ds, files=(dataclasses.replace(ds.files[0], sha256=hashlib.sha256(body).hexdigest(), adler32=None,
                                       size_bytes=len(body)),)))
    status, message = as_student(student_home, lambda: data_fetchers.get(ds.name, "full", quiet=True))
    assert status == "DataError" and "cannot read" in message and "chmod -R a+rX" in message
