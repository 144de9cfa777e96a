"""The school pre-flight check (bookkit.preflight): each check's GO on this machine and its NO-GO,
with the one sentence that says what to do, on a platform that lacks what the book needs."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest

from bookkit import preflight
from local_http import serve


def test_python_version():
    assert preflight.check_python((3, 11, 7)).status == "GO"
    old = preflight.check_python((3, 10, 12))
    assert old.status == "NO-GO" and "Install Python 3.11" in old.advice
    assert preflight.check_python((3, 11, 2)).status == "NO-GO"  # before safe tar extraction


def test_environment_pins(tmp_path):
    # GO where the installed versions are the pinned ones: pins written from this environment, so
    # that the test also holds in the latest-dependencies run (whose versions differ from requirements.txt)
    from importlib.metadata import version

    (tmp_path / "live.txt").write_text("".join(f"{name}=={version(name)}\n" for name in ("numpy", "pandas", "uproot")))
    assert preflight.check_environment(tmp_path / "live.txt").status == "GO"
    (tmp_path / "requirements.txt").write_text("# pins\nnumpy==0.0.1\nno-such-package-xyz==1.0\n")
    check = preflight.check_environment(tmp_path / "requirements.txt")
    assert check.status == "NO-GO" and "numpy" in check.detail and "no-such-package-xyz missing" in check.detail
    assert "setup-env.sh" in check.advice


def test_missing_samples_are_named(tmp_path, monkeypatch):
    from data_fetchers import cache

    monkeypatch.setenv("HEPML_CACHE_DIR", str(tmp_path / "hub"))
    monkeypatch.setattr(cache, "user_cache_dir", lambda: tmp_path / "user" / "hepml-hands-on")
    check = preflight.check_samples(generate=False)
    assert check.status == "NO-GO" and "cms-dimuon-2012" in check.detail and "hls4ml-lhc-jets-hlf" in check.detail
    assert "python -m data_fetchers fetch --all --mode sample" in check.advice


def test_present_samples_pass():
    import data_fetchers
    from data_fetchers.registry import DATASETS

    for name in DATASETS:
        data_fetchers.get(name, "sample", quiet=True)  # the notebooks' samples, generated once per test session
    assert preflight.check_samples(generate=False).status == "GO"


def test_compiler(monkeypatch):
    assert preflight.check_compiler().status == "GO"
    monkeypatch.setenv("PATH", "/nonexistent")
    check = preflight.check_compiler()
    assert check.status == "NO-GO" and "sudo apt install g++" in check.advice


def test_memory_and_disk():
    assert preflight.check_memory(available_bytes=8 * 2**30, limit_bytes=0).status == "GO"
    capped = preflight.check_memory(available_bytes=8 * 2**30, limit_bytes=2**30)
    assert capped.status == "NO-GO" and "cgroup limit 1.0 GiB" in capped.detail and "2 GiB" in capped.advice
    assert preflight.check_disk(1.0, free_bytes=10**11).status == "GO"
    full = preflight.check_disk(5.0, free_bytes=10**9)
    assert full.status == "NO-GO" and "HEPML_CACHE_DIR" in full.advice


def test_gpu_is_only_information():
    assert preflight.check_gpu().status == "INFO"


def test_mirror(tmp_path):
    assert preflight.check_mirror(["cms-hep-tutorial-2012"], mirrors="").status == "NO-GO"
    served = tmp_path / "cms-hep-tutorial-2012"
    served.mkdir()
    with serve(directory=tmp_path) as url:
        missing = preflight.check_mirror(["cms-hep-tutorial-2012"], mirrors=url)
        assert missing.status == "NO-GO" and "HTTP 404" in missing.detail and "data_fetchers mirror" in missing.advice
        with open(served / "HEPTutorial_0.tar", "wb") as f:
            f.write(b"truncated")
        short = preflight.check_mirror(["cms-hep-tutorial-2012"], mirrors=url)
        assert short.status == "NO-GO" and "9 bytes where the publisher's size is 33730560" in short.detail
        with open(served / "HEPTutorial_0.tar", "wb") as f:
            f.truncate(33_730_560)  # the published size (the content is verified when it is used)
        assert preflight.check_mirror(["cms-hep-tutorial-2012"], mirrors=url).status == "GO"
    assert "unreachable" in preflight.check_mirror(["cms-hep-tutorial-2012"], mirrors=url, timeout=1).detail


def test_notebooks_are_run_against_the_budgets(tmp_path):
    def notebook(name, source):
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)],
                                      metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}})
        nbformat.write(nb, tmp_path / name)

    notebook("good.ipynb", "x = sum(range(10))")
    notebook("bad.ipynb", "raise ValueError('no sample here')")
    checks = {c.name: c for c in preflight.check_notebooks(tmp_path, timeout=120)}
    assert checks["good.ipynb"].status == "GO"
    assert checks["bad.ipynb"].status == "NO-GO" and "ValueError" in checks["bad.ipynb"].detail
    assert "run-tests.sh" in checks["bad.ipynb"].advice


def test_table_and_exit_status(monkeypatch, capsys):
    checks = [preflight.Check("memory", "NO-GO", "1.0 GiB usable", "Give each user 2 GiB."),
              preflight.Check("GPU", "INFO", "none visible")]
    text = preflight.table(checks)
    assert "What to do:\n- memory: Give each user 2 GiB." in text and "NO-GO for" in text
    monkeypatch.setattr(preflight, "run", lambda *a, **k: checks)
    assert preflight.main([]) == 1
    monkeypatch.setattr(preflight, "run", lambda *a, **k: checks[1:])
    assert preflight.main([]) == 0 and "GO for" in capsys.readouterr().out
