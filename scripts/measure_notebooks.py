"""Measure every notebook as a Binder user meets it; write book/_data/execution-stats.json.

Run through ``bash scripts/measure-notebooks.sh``. Steps:
1. an empty data cache (``HEPML_CACHE_DIR`` and the user cache both in a temporary directory);
2. every process from here on is pinned to one CPU (Binder gives about one);
3. each dataset's sample is generated once, timed (``python -m data_fetchers fetch NAME``);
4. the notebooks run with nbval, under the tests' 2 GiB memory cap (tests/memory_cap.py);
5. the figures, the date, the machine and these conditions are written to the committed file.
Nothing is written when a notebook fails.
"""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from memory_cap import MemoryCap  # noqa: E402
from notebook_runner import BUDGET, COMMITTED_STATS, STATS_ENV, datasets_used, machine_facts  # noqa: E402


def main() -> int:
    notebooks = sorted(p for p in (ROOT / "notebooks").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
    cap, why = MemoryCap.create("probe")
    if cap is not None:
        cap.remove()
    cpu = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})  # inherited by pytest, the kernels and their children
    with tempfile.TemporaryDirectory(prefix="hepml-measure-") as tmp:
        env = dict(os.environ, HEPML_CACHE_DIR=f"{tmp}/cache", XDG_CACHE_HOME=f"{tmp}/user-cache",
                   HEPML_DATA_MODE="sample", **{STATS_ENV: f"{tmp}/stats.json"})
        generation = {}
        for name in dict.fromkeys(n for nb in notebooks for n in datasets_used(nb)):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "data_fetchers", "fetch", name, "--mode", "sample"],
                           cwd=ROOT, env=env, check=True)
            generation[name] = {"seconds": round(time.perf_counter() - start, 1)}
            print(f"measure: {name} sample generated in {generation[name]['seconds']} s on one CPU", flush=True)
        # one notebook at a time (no xdist), without the breakages run in their kernels (tests, not the lesson)
        proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:xdist", "-k", "not breakage", *map(str, notebooks)],
                              cwd=ROOT, env=env)
        if proc.returncode != 0:
            print("measure: a notebook failed; the committed statistics were left unchanged.", file=sys.stderr)
            return proc.returncode
        measured = json.loads(Path(f"{tmp}/stats.json").read_text())
    stats = {
        "date": datetime.date.today().isoformat(),
        "machine": machine_facts(),
        "conditions": {"cpus": 1, "memory_cap": "a 2 GiB memory cap" if cap is not None else f"no memory cap ({why})",
                       "data_cache": "cold; samples generated first (timed below), as binder/postBuild does"},
        "budget": BUDGET,
        "generation": generation,
        "notebooks": {key: {k: r[k] for k in ("wall_s", "peak_rss_mb", "cells", "cell_seconds", "datasets")}
                      for key, r in sorted(measured["notebooks"].items())},
    }
    stats["machine"]["cpus"] = os.cpu_count()
    COMMITTED_STATS.write_text(json.dumps(stats, indent=2, sort_keys=True) + "\n")
    print(f"measure: wrote {COMMITTED_STATS.relative_to(ROOT)}; commit it.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
