"""Command line of the data layer.

    python -m data_fetchers list
    python -m data_fetchers fetch NAME [NAME ...] [--mode full|sample]
    python -m data_fetchers fetch --all --mode sample [--jobs 2]   # what binder/postBuild runs
    python -m data_fetchers mirror DIR [NAME ...]                  # a school mirror from the cache
    python -m data_fetchers realism [NAME ...]                     # the samples' realism tables

``fetch`` fills the cache ahead of time, e.g. a shared hub directory named by
``HEPML_CACHE_DIR`` before a school, or every sample of a Binder image. Exit status: 0 when
everything asked for is there, 1 when a dataset could not be fetched or mirrored, 2 for a
usage error.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
from concurrent.futures import ProcessPoolExecutor, as_completed
from functools import partial
from pathlib import Path

from . import DATASETS, DataError
from .api import prepare


def _fetch(names: list[str], mode: str | None, jobs: int) -> int:
    done = []

    def report(name, result) -> bool:
        try:
            paths, seconds = result()
        except DataError as exc:
            print(f"error: {name}: {exc}", file=sys.stderr)
            return False
        done.append(name)
        print(f"{name}: ready in {seconds:.1f} s ({len(done)} of {len(names)})", flush=True)
        for path in paths:
            print(f"  {path}")
        return True

    if jobs > 1 and len(names) > 1:
        print(f"preparing {len(names)} datasets, {jobs} at a time: a line as each is ready", flush=True)
        # Two progress bars on one terminal garble each other (and fill a log with thousands of lines):
        # the workers keep theirs quiet; the line above and one per finished dataset are the progress.
        os.environ.setdefault("TQDM_DISABLE", "1")
        # separate processes: the generators are single-threaded (Pythia, FastJet)
        with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = {pool.submit(prepare, name, mode): name for name in names}
            ok = [report(futures[f], f.result) for f in as_completed(futures)]
    else:
        ok = [report(name, partial(prepare, name, mode)) for name in names]
    return 0 if all(ok) else 1


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m data_fetchers", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list the registered datasets")
    fetch = sub.add_parser("fetch", help="download (full) or generate (sample) datasets into the cache")
    fetch.add_argument("names", nargs="*", metavar="NAME", help=f"one of: {', '.join(sorted(DATASETS))}")
    fetch.add_argument("--all", action="store_true", help="every dataset of the registry")
    fetch.add_argument("--mode", default=None, help="sample or full (default: $HEPML_DATA_MODE or sample)")
    fetch.add_argument("--jobs", type=int, default=1, help="datasets prepared in parallel (default 1)")
    realism = sub.add_parser("realism", help="measure the samples' realism tables (book/_data/realism.json)")
    realism.add_argument("names", nargs="*", metavar="NAME", help="datasets (default: all with a realism table)")
    mirror = sub.add_parser("mirror", help="lay out the cached full-mode files as a school mirror in DIR")
    mirror.add_argument("directory", type=Path, metavar="DIR")
    mirror.add_argument("names", nargs="*", metavar="NAME", help="datasets to include (default: all)")
    args = parser.parse_args(argv)

    if args.command == "list":
        for d in DATASETS.values():
            print(f"{d.name:24} {d.title}  [{d.record_url}]")
        return 0
    if args.command == "realism":
        from . import realism
        names = args.names or list(realism.REALISM)
        tables = realism.load()
        for name in names:
            tables[name] = realism.measure(name)
            rows = tables[name]["rows"]
            misses = [row["quantity"] for row in rows if row["agrees"] is False]
            unchecked = sum(row["agrees"] is None for row in rows)
            print(f"{name}: {len(rows)} figures" + (f", OUTSIDE tolerance: {misses}" if misses else ", all within tolerance")
                  + (f" ({unchecked} without a real figure: not checked)" if unchecked else ""))
        realism.write(tables)
        print(f"wrote {realism.REALISM_FILE}; commit it.")
        return 0
    names = list(DATASETS) if getattr(args, "all", False) else args.names
    unknown = [n for n in names if n not in DATASETS]
    if unknown:
        parser.error(f"unknown dataset(s) {', '.join(unknown)}; known: {', '.join(sorted(DATASETS))}")
    if args.command == "fetch":
        if not names:
            parser.error("name at least one dataset, or use --all")
        return _fetch(names, args.mode, args.jobs)

    from .mirror import lay_out_mirror
    try:
        report = lay_out_mirror(args.directory, names or None)
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for problem in report.missing:
        print(f"missing: {problem}", file=sys.stderr)
    print(f"{len(report.copied)} file(s) in the mirror {args.directory}; serve that directory and set "
          f"HEPML_MIRROR=http://<this host>:<port> for the students.")
    return 1 if report.missing else 0


if __name__ == "__main__":
    sys.exit(main())
