"""The book's measured execution figures: their one file, read and formatted.

``book/_data/execution-stats.json`` is written only by ``scripts/measure-notebooks.sh`` (a
Binder-like run: one CPU, a 2 GiB memory cap, a cold data cache whose samples are generated
first). Each lesson's header and the *Execution statistics* page render it at build time
(``bookkit.pages``), so no figure is ever typed by hand; ``bookkit.school`` plans with it.
"""

from __future__ import annotations

import json
from pathlib import Path

STATS_FILE = Path(__file__).resolve().parents[1] / "book" / "_data" / "execution-stats.json"
MEASURE_COMMAND = "bash scripts/measure-notebooks.sh"


def load_stats(path: Path = STATS_FILE) -> dict:
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return {"notebooks": {}, "generation": {}}


def duration(seconds: float) -> str:
    """17 s, 2 min 39 s."""
    seconds = round(seconds)
    return f"{seconds} s" if seconds < 60 else f"{seconds // 60} min {seconds % 60:02d} s"


def memory(mb: float) -> str:
    return f"{mb:.0f} MB" if mb < 1000 else f"{mb / 1000:.2f} GB"


def conditions(stats: dict) -> str:
    c, m = stats.get("conditions", {}), stats.get("machine", {})
    cpus = c.get("cpus", m.get("cpus", "?"))
    return (f"measured on {stats.get('date', '?')} with {'one CPU core' if cpus == 1 else f'{cpus} CPU cores'} and "
            f"{c.get('memory_cap', 'no memory cap')}, samples already generated, as on Binder")


def first_use_seconds(stats: dict, entry: dict) -> float:
    """Time to generate the samples a notebook reads, on a machine where they are not cached yet."""
    generation = stats.get("generation", {})
    return sum(generation.get(name, {}).get("seconds", 0.0) for name in entry.get("datasets", []))
