"""The test and delivery pipeline itself: one execution per notebook, Binder's limits, measured
figures from one source, a warm Binder image, the data layer's command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

import data_fetchers
import notebook_runner
from bookkit import pages
from conftest import stage_book_sources
from data_fetchers.__main__ import main as cli
from memory_cap import MemoryCap

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(p for p in (ROOT / "notebooks").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)


# ------------------------------------------------------------ Binder: warm image, system packages
def test_binder_generates_every_registered_sample(monkeypatch):
    post_build = (ROOT / "binder" / "postBuild").read_text()
    assert "python -m data_fetchers fetch --all --mode sample" in post_build
    asked = []
    monkeypatch.setattr("data_fetchers.__main__.prepare", lambda name, mode: (asked.append((name, mode)) or ([], 0.0)))
    assert cli(["fetch", "--all", "--mode", "sample"]) == 0
    assert asked == [(name, "sample") for name in data_fetchers.DATASETS], "--all must cover the whole registry"


def test_binder_installs_a_cpp_compiler():
    packages = [l.strip() for l in (ROOT / "binder" / "apt.txt").read_text().splitlines()
                if l.strip() and not l.startswith("#")]
    assert "g++" in packages  # hls4ml's bit-accurate FPGA emulation compiles C++


def test_every_notebook_dataset_is_registered():
    for nb in NOTEBOOKS:
        for name in notebook_runner.datasets_used(nb):
            assert name in data_fetchers.DATASETS, f"{nb.name} asks for {name}, which the registry lacks"


# ------------------------------------------------------------ the data layer's command line
def test_cli_exit_codes(monkeypatch, tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        cli(["fetch", "no-such-dataset"])
    assert info.value.code == 2
    with pytest.raises(SystemExit) as info:
        cli(["fetch"])
    assert info.value.code == 2

    def failing(name, mode):
        raise data_fetchers.DataError(f"{name} could not be reached (no network connection?).")
    monkeypatch.setattr("data_fetchers.__main__.prepare", failing)
    assert cli(["fetch", "cms-dimuon-2012", "--mode", "full"]) == 1
    assert "error: cms-dimuon-2012: cms-dimuon-2012 could not be reached" in capsys.readouterr().err

    monkeypatch.setenv("HEPML_CACHE_DIR", str(tmp_path / "empty"))
    monkeypatch.setattr("data_fetchers.cache.user_cache_dir", lambda: tmp_path / "user")
    assert cli(["mirror", str(tmp_path / "mirror"), "cms-dimuon-2012"]) == 1
    assert "fetch cms-dimuon-2012 --mode full` first" in capsys.readouterr().err


def test_parallel_fetch_runs_in_worker_processes(tmp_path):
    """--jobs 2 really uses two processes (spawned: they must find their function by import)."""
    from data_fetchers.samples import get_recipe

    names = ["cms-dimuon-2012", "top-tagging-2019"]
    for name in names:  # samples already in a cache: the workers only look them up
        ds = data_fetchers.DATASETS[name]
        sample = tmp_path / "cache" / name / get_recipe(ds).key()
        sample.mkdir(parents=True)
        for filename in ds.filenames:
            (sample / filename).write_bytes(b"")
    env = dict(os.environ, HEPML_CACHE_DIR=str(tmp_path / "cache"), XDG_CACHE_HOME=str(tmp_path / "user"))
    proc = subprocess.run([sys.executable, "-m", "data_fetchers", "fetch", *names, "--mode", "sample", "--jobs", "2"],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert all(f"{name}: ready in" in proc.stdout for name in names)


# ------------------------------------------------------------ one execution, one statistics source
def test_book_is_built_from_the_executed_notebooks(tmp_path):
    nb = nbformat.read(NOTEBOOKS[0], as_version=4)
    code = next(c for c in nb.cells if c.cell_type == "code")
    code.outputs = [nbformat.v4.new_output("stream", name="stdout", text="executed once by nbval\n")]
    key = NOTEBOOKS[0].relative_to(ROOT).as_posix()
    executed = tmp_path / "executed.ipynb"
    nbformat.write(nb, executed)
    staging = stage_book_sources({key: executed}, tmp_path / "staging")
    assert "executed once by nbval" in (staging / key).read_text()
    assert yaml.safe_load((staging / "_config.yml").read_text())["execute"]["exclude_patterns"] == [key]
    assert not any((staging / name).exists() for name in (".venv", "_build", ".git", "tests"))
    for other in NOTEBOOKS[1:]:  # notebooks this session did not run are built from their sources
        assert (staging / other.relative_to(ROOT)).read_bytes() == other.read_bytes()


def test_every_notebook_has_committed_figures_and_a_timeout_with_twice_the_margin():
    committed = notebook_runner.committed_stats()
    for nb in NOTEBOOKS:
        key = nb.relative_to(ROOT).as_posix()
        assert key in committed["notebooks"], f"{key} has no measured figures: run bash scripts/measure-notebooks.sh"
        measured = committed["notebooks"][key]["wall_s"]
        assert notebook_runner.notebook_timeout(key) >= 2 * measured
    assert {"date", "machine", "conditions", "generation", "budget"} <= set(committed)


def test_no_lesson_takes_more_than_two_minutes_on_one_cpu():
    """The test run's length grows with the lessons: each stays within ONE_CPU_LIMIT_S in the Binder-like
    measurement (one CPU), by doing less where it is slower, never by a looser deadline."""
    committed = notebook_runner.committed_stats()["notebooks"]
    slow = {key: s["wall_s"] for key, s in committed.items() if s["wall_s"] > notebook_runner.ONE_CPU_LIMIT_S}
    assert not slow, f"over {notebook_runner.ONE_CPU_LIMIT_S} s on one CPU: {slow}"


def test_a_test_run_does_not_write_the_committed_statistics(monkeypatch):
    monkeypatch.delenv(notebook_runner.STATS_ENV, raising=False)
    assert notebook_runner.stats_file().is_relative_to(ROOT / "_build")
    assert notebook_runner.stats_file() != notebook_runner.COMMITTED_STATS


def test_budget_table_flags_overruns():
    lines = notebook_runner.budget_table({
        "notebooks/a/01-fast.ipynb": {"wall_s": 20.0, "peak_rss_mb": 400.0, "timeout_s": 300, "status": "passed"},
        "notebooks/a/02-slow.ipynb": {"wall_s": 200.0, "peak_rss_mb": 1700.0, "timeout_s": 600, "status": "passed"},
    })
    assert "within budget" in lines[2] and "OVER" not in lines[2]
    assert "OVER: 200 s > 180 s" in lines[3] and "OVER: 1700 MB > 1536 MB" in lines[3]


def test_lesson_headers_render_the_measured_figures(tmp_path):
    stats = {"date": "2026-11-23", "machine": {"cpus": 2, "memory_gb": 23.5, "python": "3.11.7", "platform": "Linux"},
             "conditions": {"cpus": 1, "memory_cap": "a 2 GiB memory cap"}, "budget": notebook_runner.BUDGET,
             "generation": {"atlas-higgsml-2014": {"seconds": 118.0}},
             "notebooks": {"notebooks/01-x/02-y.ipynb": {"wall_s": 95.4, "peak_rss_mb": 1012.0, "cells": 17,
                                                        "datasets": ["atlas-higgsml-2014"]}}}
    path = tmp_path / "stats.json"
    path.write_text(json.dumps(stats))
    text = pages.execution_figures("notebooks/01-x/02-y.ipynb", path).data
    assert "**1 min 35 s**" in text and "**1.01 GB**" in text and "about 1 min 58 s" in text
    assert "one CPU core and a 2 GiB memory cap" in text
    assert "Not measured yet" in pages.execution_figures("notebooks/01-x/03-new.ipynb", path).data
    table = pages.execution_table(path)
    assert "| `notebooks/01-x/02-y.ipynb` | 1 min 35 s | 1.01 GB | yes | 1 min 58 s | 17 |" in table


# ------------------------------------------------------------ Binder's 2 GiB, enforced
GREEDY = nbformat.v4.new_notebook(cells=[
    nbformat.v4.new_code_cell("x = 1"),
    nbformat.v4.new_code_cell("import numpy as np\nblocks = [np.ones(2**25) for _ in range(40)]  # 10 GiB"),
    nbformat.v4.new_code_cell("print('never reached')"),
], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})


def test_a_notebook_over_the_memory_cap_fails_with_one_sentence(tmp_path):
    cap, why = MemoryCap.create("probe", 300)
    if cap is None:
        pytest.skip(f"cannot test the cap here: {why}")
    cap.remove()
    path = tmp_path / "greedy.ipynb"
    nbformat.write(GREEDY, path)
    env = dict(os.environ, HEPML_MEMORY_CAP_MB="300", HEPML_STATS_FILE=str(tmp_path / "stats.json"),
               PYTHONPATH=str(ROOT / "tests"))
    proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--nbval-lax", "-p", "notebook_runner",
                           "--rootdir", str(tmp_path), "-c", "/dev/null", str(path)],
                          capture_output=True, text=True, cwd=tmp_path, env=env,
                          timeout=300)
    out = proc.stdout
    assert proc.returncode == 1, out[-3000:]
    assert f"{path} was killed by the 300 MiB (cgroup v" in out and "memory cap (Binder's limit) while running code cell 1" in out
    assert "1 failed, 1 passed, 1 xfailed" in out  # nbval gives up on the cells after it
    recorded = json.loads((tmp_path / "stats.json").read_text())["notebooks"][path.as_posix()]
    assert recorded["status"] == "killed by the memory cap" and recorded["memory_cap"].startswith("300 MiB")


def test_without_root_the_cap_is_not_applied_and_says_why(monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    cap, why = MemoryCap.create("probe")
    assert cap is None and "needs root" in why
    monkeypatch.setenv("HEPML_MEMORY_CAP_MB", "0")
    assert "off" in MemoryCap.create("probe")[1]



# ------------------------------------------------------------ two at a time
WAITING_TEST = '''
import notebook_runner
import pytest


@pytest.fixture(scope="session")
def built_book(request):  # as conftest's: the executed notebooks of the whole run, waited for
    return notebook_runner.executed_notebooks(request.session, poll_s=0.2)


def test_sees_every_notebook(built_book):
    assert sorted(p.name for p in built_book.values()) == ["fast.ipynb", "slow.ipynb"]
    assert all(p.exists() for p in built_book.values())
'''


def _tiny_notebook(path: Path, *sources: str) -> None:
    nbformat.write(nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell(s) for s in sources],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}), path)


def test_two_workers_run_the_notebooks_and_the_book_waits_for_both(tmp_path):
    """Two xdist workers: each notebook runs whole on one worker, pinned to a CPU of its own, and the
    book's fixture (on whichever worker) waits until both have finished, on either worker."""
    if len(os.sched_getaffinity(0)) < 2:
        pytest.skip("needs two CPUs")
    _tiny_notebook(tmp_path / "slow.ipynb", "import os, time\ntime.sleep(4)", "print(sorted(os.sched_getaffinity(0)))")
    _tiny_notebook(tmp_path / "fast.ipynb", "import os\nprint(sorted(os.sched_getaffinity(0)))",
                   "print(os.environ.get('OMP_NUM_THREADS'))")
    (tmp_path / "test_waits.py").write_text(WAITING_TEST)
    env = dict(os.environ, HEPML_STATS_FILE=str(tmp_path / "stats.json"), PYTHONPATH=str(ROOT / "tests"))
    proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--nbval-lax", "-p", "notebook_runner",
                           "-n", "2", "-rA", "--rootdir", str(tmp_path),
                           "-c", "/dev/null", str(tmp_path)], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=300)
    out = proc.stdout
    assert proc.returncode == 0, out[-3000:]
    assert "5 passed" in out
    recorded = json.loads((tmp_path / "stats.json").read_text())["notebooks"]
    cpus = {Path(key).name: r["cpu"] for key, r in recorded.items()}
    assert set(cpus) == {"slow.ipynb", "fast.ipynb"} and cpus["slow.ipynb"] != cpus["fast.ipynb"], cpus
    assert "kernels pinned to one CPU each" in out and "time per test file" in out


def test_a_notebook_past_its_deadline_says_whether_the_machine_or_the_lesson_is_slow(monkeypatch):
    committed = {"notebooks": {"notebooks/x/01-y.ipynb": {"wall_s": 100.0, "cell_seconds": [1.0, 40.0, 50.0, 9.0]}}}
    monkeypatch.setattr(notebook_runner, "committed_stats", lambda: committed)
    machine = notebook_runner.deadline_report("notebooks/x/01-y.ipynb", {0: 3.1, 1: 121.0, 2: 149.0, 3: 28.0}, 300)
    assert "ran past its deadline of 300 s (3 x its committed 100 s" in machine
    assert "took 301 s against 100 s committed (3.0 x)" in machine and "Every cell is slower alike" in machine
    lesson = notebook_runner.deadline_report("notebooks/x/01-y.ipynb", {0: 1.0, 1: 41.0, 2: 250.0, 3: 9.5}, 300)
    assert "Code cell 2 is far slower than the others" in lesson and "code cell 2: 250.0 s (committed 50.0 s)" in lesson


def test_the_data_page_states_the_measured_generation_times(tmp_path):
    path = tmp_path / "stats.json"
    path.write_text(json.dumps({"generation": {"a-sample": {"seconds": 0.6}, "b-sample": {"seconds": 120.5},
                                               "c-sample": {"seconds": 53.0}}}))
    text = pages.generation_markdown(path)
    assert "from 1 s (`a-sample`) to 2 min 00 s (`b-sample`) on one CPU core, 2 min 54 s for all 3" in text


def test_a_failed_book_build_names_the_notebook_cell_and_error_first(tmp_path):
    sys.path.insert(0, str(ROOT / "scripts"))
    import book_build_report

    notebook = NOTEBOOKS[0]
    docname = notebook.relative_to(ROOT).with_suffix("").as_posix()
    cells = [c for c in nbformat.read(notebook, as_version=4).cells if c.cell_type == "code"]
    reports = tmp_path / "html" / "reports" / f"{docname}.err.log"
    reports.parent.mkdir(parents=True)
    reports.write_text("Traceback (most recent call last):\n  File \"zmq/sugar/socket.py\", line 1, in recv\n"
                       "zmq.error.Again: Resource temporarily unavailable\n\nDuring handling ...\n"
                       "nbclient.exceptions.CellExecutionError: An error occurred while executing the following cell:\n"
                       f"------------------\n{cells[3].source}\n------------------\n\n\n"
                       "\x1b[0;31mAssertionError\x1b[0m: the peak is off\n")
    lines = book_build_report.report(tmp_path)
    assert lines[0].startswith(f"FAILED: {notebook.relative_to(ROOT)}, code cell 3 (")
    assert lines[0].split("\n")[0].endswith("AssertionError: the peak is off")
    timeout = reports.read_text().split("nbclient.exceptions")[0] + (
        "nbclient.exceptions.CellTimeoutError: A cell timed out while it was being executed, after 300 seconds.\n"
        "The message was: Cell execution timed out.\nHere is a preview of the cell contents:\n-------------------\n"
        f"{[line for line in cells[3].source.splitlines()][:3]}\n-------------------\n")
    reports.write_text(timeout)
    assert "code cell 3" in book_build_report.report(tmp_path)[0] and "limit of 300 s per cell" in book_build_report.report(tmp_path)[0]
    # a kernel that dies takes the build down before any report is saved: the log names the notebook it ran
    reports.unlink()
    log = tmp_path / "book-build.log"
    log.write_text(f"{notebook}: Executed notebook in 3.1 seconds [mystnb]\n{NOTEBOOKS[1]}: Executing notebook using local "
                   "CWD [mystnb]\n[IPKernelApp] WARNING | Kernel is running over TCP without encryption.\n"
                   "zmq.error.ZMQError: Socket operation on non-socket\nnbclient.exceptions.DeadKernelError: Kernel died\n"
                   "RuntimeError: There was an error in building your book.\n")
    lines = book_build_report.report(tmp_path, log)
    assert lines == [f"FAILED: {NOTEBOOKS[1].relative_to(ROOT)}, while it was executing: nbclient.exceptions.DeadKernelError: "
                     "Kernel died (the kernel died: out of memory, or killed?)"]  # the kernel's TCP notice is no warning


def test_a_breakage_that_the_check_does_not_catch_fails():
    import lesson_breakages

    ns = {"result": 1.0}
    exec(lesson_breakages.KERNEL_RUNNER, ns)
    run = lambda code, check, match=None, expect="AssertionError": ns["_hepml_breakage"](code, check, expect, match, [])
    check = "assert result > 0.5, 'the result is too small'"
    run("result = 0.1", check, match="too small")  # caught, with its message
    with pytest.raises(AssertionError, match="passed on the broken lesson"):
        run("result = 0.9", check)  # a breakage too small for the check
    with pytest.raises(AssertionError, match="not with a message matching"):
        run("result = 0.1", check, match="too large")
    with pytest.raises(ZeroDivisionError):
        run("result = 1 / 0", check)  # a breakage that crashes is not a failing check
    run("raise NotImplementedError('fill me in')", "", expect="NotImplementedError")
    assert ns["result"] == 1.0, "a breakage runs on a copy of the lesson's namespace"
    # listed as below the check's reach (expect ""): the check must pass, and a check that catches it fails the test
    run("result = 0.9", check, expect="")
    with pytest.raises(AssertionError, match="listed as below its reach"):
        run("result = 0.1", check, expect="")
    with pytest.raises(ZeroDivisionError):
        run("result = 1 / 0", check, expect="")
