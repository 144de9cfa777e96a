"""What the book's pages render from the measured figures: each lesson's header, the Data page's
generation sentence and the *Execution statistics* page (read from ``bookkit.stats``, planned with
``bookkit.school``)."""

from __future__ import annotations

from pathlib import Path

from .school import estimated_time_markdown
from .stats import MEASURE_COMMAND, STATS_FILE, conditions, duration, first_use_seconds, load_stats, memory


def execution_figures(notebook: str, path: Path = STATS_FILE):
    """The measured line for a lesson's header (``notebook``: its path from the repository root)."""
    from IPython.display import Markdown

    stats = load_stats(path)
    entry = stats.get("notebooks", {}).get(notebook)
    if entry is None:
        return Markdown(f"**Measured execution.** Not measured yet: `{MEASURE_COMMAND}` records it.")
    text = (f"**Measured execution** (sample mode, {conditions(stats)}): **{duration(entry['wall_s'])}**, "
            f"peak memory **{memory(entry['peak_rss_mb'])}**.")
    first = first_use_seconds(stats, entry)
    if first >= 1:
        text += (f" On a new laptop the first run also generates its sample once, about "
                 f"{duration(first)} (Binder images and hubs have it ready).")
    text += " All lessons: [Execution statistics](../../book/execution-stats.md)."
    return Markdown(estimated_time_markdown(notebook, stats) + "\n\n" + text)


def generation_markdown(path: Path = STATS_FILE) -> str:
    """How long generating the samples takes, as measured (a sentence for the Data page)."""
    generation = load_stats(path).get("generation", {})
    if not generation:
        return f"Generation times are not measured yet: `{MEASURE_COMMAND}` records them."
    seconds = sorted((g["seconds"], name) for name, g in generation.items())
    (low, fastest), (high, slowest) = seconds[0], seconds[-1]
    return (f"Generating a sample takes from {duration(low)} (`{fastest}`) to {duration(high)} (`{slowest}`) on one CPU "
            f"core, {duration(sum(s for s, _ in seconds))} for all {len(seconds)} one after the other (measured: "
            "[Execution statistics](execution-stats.md); a busy machine takes longer). The book's build and test "
            "commands generate them all first, two at a time, and a Binder image has them already.")


def execution_table(path: Path = STATS_FILE) -> str:
    """The Execution statistics page, as Markdown."""
    stats = load_stats(path)
    if not stats.get("notebooks"):
        return f"No measurements yet: run `{MEASURE_COMMAND}` to record them."
    budget = stats["budget"]
    rows = ["| notebook | wall time | peak memory | within budget | first use: sample generation | cells |",
            "|---|---:|---:|:-:|---:|---:|"]
    for name, s in sorted(stats["notebooks"].items()):
        ok = s["wall_s"] <= budget["wall_s"] and s["peak_rss_mb"] <= budget["peak_rss_mb"]
        first = first_use_seconds(stats, s)
        rows.append(f"| `{name}` | {duration(s['wall_s'])} | {memory(s['peak_rss_mb'])} | {'yes' if ok else '**no**'} "
                    f"| {duration(first) if first >= 1 else '–'} | {s['cells']} |")
    m = stats["machine"]
    total = sum(s["wall_s"] for s in stats["notebooks"].values())
    lines = rows + ["", f"Measured on {stats['date']} ({conditions(stats)}) on a machine with {m['memory_gb']:.0f} GB "
                        f"of memory, Python {m['python']}, {m['platform']}; all notebooks together: {duration(total)}. "
                        f"Budget per notebook: {duration(budget['wall_s'])} and {memory(budget['peak_rss_mb'])}."]
    if stats.get("generation"):
        lines += ["", "| sample | generated once in |", "|---|---:|"]
        lines += [f"| `{name}` | {duration(g['seconds'])} |" for name, g in sorted(stats["generation"].items())]
    return "\n".join(lines)
