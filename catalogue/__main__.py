"""python -m catalogue validate | check-links [--update] [--timeout S] [--retries N] [--file PATH]"""

import argparse
import datetime
import sys
from pathlib import Path

from .links import check_all, looks_offline, report, update_last_checked
from .schema import DEFAULT_PATH, CatalogueError, load


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m catalogue", description=__doc__)
    parser.add_argument("command", choices=["validate", "check-links"])
    parser.add_argument("--file", type=Path, default=DEFAULT_PATH)
    parser.add_argument("--update", action="store_true", help="write today's date into last_checked of live links")
    parser.add_argument("--timeout", type=float, default=10.0)
    parser.add_argument("--retries", type=int, default=2)
    args = parser.parse_args(argv)
    try:
        entries = load(args.file)
    except CatalogueError as exc:
        print(exc, file=sys.stderr)
        return 1
    if args.command == "validate":
        print(f"{args.file}: {len(entries)} valid entries.")
        return 0
    results = check_all([e["url"] for e in entries], timeout=args.timeout, retries=args.retries)
    if looks_offline(results):
        print("No link could be reached at all: this machine seems to have no network access, so nothing "
              "was marked dead and last_checked was not changed; run the check where the internet is reachable.",
              file=sys.stderr)
        return 2
    print(report(results))
    if args.update:
        alive = {r.url for r in results if r.alive}
        dead = {r.url for r in results if not r.alive}
        args.file.write_text(update_last_checked(args.file.read_text(encoding="utf-8"), alive, datetime.date.today(), dead),
                             encoding="utf-8")
        print(f"last_checked set to {datetime.date.today()} for {len(alive)} entries, last_failed for {len(dead)}, "
              f"in {args.file}.")
    return 0 if all(r.alive for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
