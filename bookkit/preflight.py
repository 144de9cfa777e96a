"""Pre-flight check for a school: run it on the target platform (a hub, a student laptop image, a
Binder session) the day before.

    python -m bookkit.preflight                          # environment, samples, compiler, GPU, memory, disk
    python -m bookkit.preflight --full NAME [NAME ...]   # plus the mirror (HEPML_MIRROR) and disk for full mode
    python -m bookkit.preflight --run-notebooks          # plus every notebook, timed against the budgets

It prints a go/no-go table with one sentence per problem saying what to do, and exits with status 1
when anything is NO-GO (INFO lines never block: a GPU is optional, for instance).
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GO, NO_GO, INFO = "GO", "NO-GO", "INFO"
KERNEL_MEMORY_GB = 2.0  # Binder's cap, and the budget every lesson fits in (1.5 GB peak and a margin)
SAMPLES_DISK_GB = 1.0


@dataclass(frozen=True)
class Check:
    name: str
    status: str
    detail: str
    advice: str = ""  # one sentence: what to do (empty when there is nothing to do)


def check_python(version: tuple = sys.version_info[:3]) -> Check:
    text = ".".join(map(str, version))
    if (3, 11, 4) <= tuple(version) < (3, 12):
        return Check("Python", GO, f"Python {text}")
    return Check("Python", NO_GO, f"Python {text}",
                 "Install Python 3.11 (3.11.4 or later) and recreate the environment with bash scripts/setup-env.sh.")


def check_environment(requirements: Path = ROOT / "requirements.txt") -> Check:
    """Every exact pin of requirements.txt installed at that version."""
    from importlib.metadata import PackageNotFoundError, version

    wrong = []
    for line in requirements.read_text().splitlines():
        m = re.match(r"^([A-Za-z0-9_.\-]+)==([^\s;#]+)", line)
        if not m:
            continue
        name, pinned = m.groups()
        try:
            installed = version(name).removesuffix("+cpu")
        except PackageNotFoundError:
            installed = None
        if installed != pinned and not (installed or "").startswith(pinned + "+"):
            wrong.append(f"{name} {installed or 'missing'} (pinned {pinned})")
    if not wrong:
        return Check("environment", GO, "every pin of requirements.txt is installed")
    return Check("environment", NO_GO, f"{len(wrong)} packages differ: " + ", ".join(wrong[:5]) + ("…" if len(wrong) > 5 else ""),
                 "Run bash scripts/setup-env.sh (or pip install -r requirements.txt) in the kernel's environment.")


def check_samples(generate: bool = True) -> Check:
    """Every dataset's sample in the data cache, generated now if asked (as Binder's image build does)."""
    from data_fetchers import cache
    from data_fetchers.registry import DATASETS
    from data_fetchers.samples import ensure_sample, get_recipe

    missing = [name for name, d in DATASETS.items()
               if cache.find_existing(Path(name) / get_recipe(d).key()) is None]
    if missing and generate:
        start = time.perf_counter()
        for name in missing:
            ensure_sample(DATASETS[name], quiet=True)
        return Check("samples", GO, f"{len(missing)} generated now in {time.perf_counter() - start:.0f} s "
                                    f"({', '.join(missing)}); all {len(DATASETS)} present")
    if missing:
        return Check("samples", NO_GO, f"missing: {', '.join(missing)}",
                     "Generate them before the school: python -m data_fetchers fetch --all --mode sample.")
    return Check("samples", GO, f"all {len(DATASETS)} samples present")


def check_compiler() -> Check:
    """A C++ compiler that builds Xilinx's ap_fixed type (chapter 6's bit-accurate emulation)."""
    compiler = shutil.which("g++")
    advice = ("Install a C++ compiler (Debian/Ubuntu: sudo apt install g++; macOS: xcode-select --install; "
              "conda: conda install -c conda-forge gxx); chapter 6 cannot run without one.")
    if compiler is None:
        return Check("C++ compiler", NO_GO, "g++ not found", advice)
    import hls4ml

    headers = Path(hls4ml.__file__).parent / "templates" / "vivado" / "ap_types"
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "t.cpp").write_text('#include "ap_fixed.h"\nint main() { ap_fixed<6,3> x = 1.3; return x == 1.25 ? 0 : 1; }\n')
        proc = subprocess.run([compiler, f"-I{headers}", "t.cpp", "-o", "t"], cwd=tmp, capture_output=True, text=True)
        ok = proc.returncode == 0 and subprocess.run([str(Path(tmp) / "t")]).returncode == 0
    if ok:
        return Check("C++ compiler", GO, f"{compiler} builds and runs ap_fixed code")
    return Check("C++ compiler", NO_GO, f"{compiler} could not build ap_fixed code: {proc.stderr.strip()[:120]}", advice)


def check_gpu() -> Check:
    import torch

    if torch.cuda.is_available():
        return Check("GPU", INFO, f"{torch.cuda.device_count()} visible: {torch.cuda.get_device_name(0)}")
    hint = " (an NVIDIA GPU is present but this PyTorch build cannot use it: rerun setup-env.sh on the GPU node)" \
        if shutil.which("nvidia-smi") else ""
    return Check("GPU", INFO, "none visible: every lesson runs on the CPU" + hint)


def cgroup_memory_limit_bytes() -> int | None:
    """The memory limit of this process's cgroup (v2 or v1), None when unlimited or unknown."""
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = Path(path).read_text().strip()
        except OSError:
            continue
        if text.isdigit() and int(text) < 1 << 60:
            return int(text)
    return None


def check_memory(available_bytes: int | None = None, limit_bytes: int | None = None) -> Check:
    import psutil

    available = psutil.virtual_memory().available if available_bytes is None else available_bytes
    limit = cgroup_memory_limit_bytes() if limit_bytes is None else limit_bytes
    usable = min(available, limit) if limit else available
    detail = f"{usable / 2**30:.1f} GiB usable" + (f" (cgroup limit {limit / 2**30:.1f} GiB)" if limit else "")
    if usable >= KERNEL_MEMORY_GB * 2**30:
        return Check("memory", GO, detail)
    return Check("memory", NO_GO, detail,
                 f"Each lesson needs up to {KERNEL_MEMORY_GB:.0f} GiB: give each user that much (a larger hub profile) or "
                 "close other kernels before starting one.")


def check_disk(needed_gb: float = SAMPLES_DISK_GB, free_bytes: int | None = None) -> Check:
    from data_fetchers import cache

    directory = cache.writable_root()
    directory.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(directory).free if free_bytes is None else free_bytes
    detail = f"{free / 1e9:.1f} GB free in {directory}, {needed_gb:.1f} GB needed"
    if free >= needed_gb * 1e9:
        return Check("disk", GO, detail)
    return Check("disk", NO_GO, detail,
                 "Free space or point HEPML_CACHE_DIR at a shared cache that holds the data (see the instructors page).")


def full_mode_bytes(names: list[str]) -> int:
    from data_fetchers.registry import get_dataset

    return sum(f.size_limit for n in names for f in get_dataset(n).files)


def check_mirror(names: list[str], mirrors: str | None = None, timeout: float = 10.0) -> Check:
    """Every full-mode file of ``names`` on the school mirror (HEPML_MIRROR), with its published size."""
    import requests

    from data_fetchers.registry import get_dataset

    mirrors = os.environ.get("HEPML_MIRROR", "") if mirrors is None else mirrors
    if not mirrors.split():
        return Check("mirror", NO_GO, "HEPML_MIRROR is not set",
                     "Lay out a mirror with python -m data_fetchers mirror DIR, serve it, and set HEPML_MIRROR=http://<host>:<port>.")
    base = mirrors.split()[0].rstrip("/")
    problems = []
    for name in names:
        for f in get_dataset(name).files:
            url = f"{base}/{name}/{f.filename}"
            try:
                response = requests.head(url, timeout=timeout, allow_redirects=True)
            except requests.RequestException as exc:
                problems.append(f"{url}: unreachable ({type(exc).__name__})")
                continue
            size = response.headers.get("Content-Length")
            if response.status_code != 200:
                problems.append(f"{url}: HTTP {response.status_code}")
            elif f.size_bytes is not None and size is not None and int(size) != f.size_bytes:
                problems.append(f"{url}: {size} bytes where the publisher's size is {f.size_bytes}")
    if not problems:
        return Check("mirror", GO, f"{base} serves every file of {', '.join(names)} at its published size "
                                   "(each download is verified again when it is used)")
    return Check("mirror", NO_GO, "; ".join(problems[:3]) + ("…" if len(problems) > 3 else ""),
                 "Refill the mirror from a verified cache (python -m data_fetchers mirror DIR) and check the web server.")


def check_notebooks(directory: Path = ROOT / "notebooks", budget_s: float = 180.0, budget_mb: float = 1536.0,
                    timeout: int = 900) -> list[Check]:
    """Every notebook executed (sample mode), its wall time and peak memory against the budgets."""
    import nbformat
    import psutil
    from nbclient import NotebookClient

    checks = []
    for path in sorted(Path(directory).rglob("*.ipynb")):
        if ".ipynb_checkpoints" in path.parts:
            continue
        nb = nbformat.read(path, as_version=4)
        client = NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
        peak, start = 0.0, time.perf_counter()
        try:
            with client.setup_kernel():
                pid = client.km.provisioner.process.pid if client.km.provisioner else None
                for index, cell in enumerate(nb.cells):
                    client.execute_cell(cell, index)
                    if pid:
                        peak = max(peak, psutil.Process(pid).memory_info().rss / 1e6)
        except Exception as exc:  # a failing cell: the notebook is NO-GO, with the error's first line
            checks.append(Check(path.name, NO_GO, f"failed: {type(exc).__name__}: {str(exc).strip().splitlines()[-1][:150]}",
                                "Run bash scripts/run-tests.sh on this platform to see the failing cell, and fix the environment."))
            continue
        wall = time.perf_counter() - start
        ok = wall <= budget_s and peak <= budget_mb
        checks.append(Check(path.name, GO if ok else INFO, f"{wall:.0f} s, {peak:.0f} MB",
                            "" if ok else f"Above the budget ({budget_s:.0f} s, {budget_mb:.0f} MB): plan more time or memory."))
    return checks


def run(full: list[str] = (), generate: bool = True, notebooks: bool = False) -> list[Check]:
    checks = [check_python(), check_environment(), check_samples(generate), check_compiler(), check_gpu(),
              check_memory(), check_disk(SAMPLES_DISK_GB + full_mode_bytes(list(full)) / 1e9)]
    if full:
        checks.append(check_mirror(list(full)))
    if notebooks:
        checks += check_notebooks()
    return checks


def table(checks: list[Check]) -> str:
    width = max(len(c.name) for c in checks)
    lines = [f"{'check':<{width}}  {'status':<6}  detail", "-" * (width + 60)]
    lines += [f"{c.name:<{width}}  {c.status:<6}  {c.detail}" for c in checks]
    problems = [c for c in checks if c.advice]
    if problems:
        lines += ["", "What to do:"] + [f"- {c.name}: {c.advice}" for c in problems]
    verdict = "NO-GO" if any(c.status == NO_GO for c in checks) else "GO"
    lines += ["", f"{verdict} for {platform.node() or 'this machine'} ({sum(c.status == NO_GO for c in checks)} blocking problems)."]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bookkit.preflight", description=__doc__.splitlines()[0])
    parser.add_argument("--full", nargs="+", default=[], metavar="DATASET", help="datasets planned in full mode")
    parser.add_argument("--no-generate", action="store_true", help="report missing samples instead of generating them")
    parser.add_argument("--run-notebooks", action="store_true", help="execute every notebook against the budgets")
    args = parser.parse_args(argv)
    checks = run(args.full, generate=not args.no_generate, notebooks=args.run_notebooks)
    print(table(checks))
    return 1 if any(c.status == NO_GO for c in checks) else 0


if __name__ == "__main__":
    sys.exit(main())
