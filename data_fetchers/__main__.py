"""Command line: ``python -m data_fetchers list | fetch NAME [--mode full|sample]``.

``fetch`` fills the cache ahead of time, e.g. a shared hub directory named by
``HEPML_CACHE_DIR`` before a school.
"""

import argparse
import sys

from . import DATASETS, DataError, get


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m data_fetchers", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list the registered datasets")
    fetch = sub.add_parser("fetch", help="download (full) or generate (sample) a dataset into the cache")
    fetch.add_argument("name", choices=sorted(DATASETS))
    fetch.add_argument("--mode", default=None, help="sample or full (default: $HEPML_DATA_MODE or sample)")
    args = parser.parse_args(argv)
    if args.command == "list":
        for d in DATASETS.values():
            print(f"{d.name:24} {d.title}  [{d.record_url}]")
        return 0
    try:
        files = get(args.name, args.mode)
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for path in files.files.values():
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
