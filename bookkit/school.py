"""Planning a school from what the book measures: each lesson's slot (reading, exercises and the
measured execution), programmes for one, three and five days that honour the prerequisites, and how
many students a hub node holds. Rendered on the *Planning a school* page at build time, so nothing
drifts from the notebooks and ``book/_data/execution-stats.json``.

**Slot model** (an estimate for a first-year graduate student, stated on the page): the lesson's
prose at 110 words a minute, its code (non-comment lines outside the hidden solutions) at 15 lines
a minute, each exercise's own stated time ("*About 20 minutes.*" in its statement; 10 minutes where
none is stated), plus the measured execution time on one CPU.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from .stats import duration, load_stats, memory

ROOT = Path(__file__).resolve().parents[1]
WORDS_PER_MINUTE = 110
CODE_LINES_PER_MINUTE = 15
EXERCISE_MINUTES = 10  # an exercise whose statement gives no time of its own
STATED_MINUTES = re.compile(r"\*About (\d+) minutes\.?\*")
SCHOOL_DAY_MINUTES = 5 * 60  # lesson time in a school day (lectures, breaks and questions come on top)
KERNEL_MARGIN = 1.25  # a kernel's memory is planned at 1.25 x its measured peak


@dataclass(frozen=True)
class Lesson:
    key: str  # notebooks/NN-chapter/NN-topic.ipynb
    number: str  # "0.1", "1.2", ...
    title: str
    words: int
    code_lines: int
    exercises: int
    prerequisites: tuple[str, ...] = field(default=())  # lesson numbers
    exercise_minutes: int = 0  # the exercises' stated times, from exercise_minutes()
    exec_seconds: float | None = None
    peak_mb: float | None = None
    datasets: tuple[str, ...] = field(default=())

    @property
    def minutes(self) -> int:
        """The slot: reading + code + exercises + measured execution, rounded up to 5 minutes."""
        m = (self.words / WORDS_PER_MINUTE + self.code_lines / CODE_LINES_PER_MINUTE
             + self.exercise_minutes + (self.exec_seconds or 0) / 60)
        return int(5 * math.ceil(m / 5))


def lesson_number(key: str) -> str:
    chapter, topic = re.match(r"notebooks/(\d+)-[^/]+/(\d+)-", key).groups()
    return f"{int(chapter)}.{int(topic)}"


def prerequisites_of(header: str) -> tuple[str, ...]:
    """Lesson numbers named in a header's *Prerequisites* paragraph ("Lesson 2.1", "Lessons 1.2 and 2.1",
    "the *Getting started* lesson")."""
    m = re.search(r"\*\*Prerequisites\.?\*\*(.*?)(?:\n\n|$)", header, re.S)
    if not m:
        return ()
    text = m.group(1)
    found = set(re.findall(r"\b(\d+\.\d+)\b", " ".join(re.findall(r"[Ll]essons?\s+[\d.\s,and]+", text))))
    if re.search(r"Getting started", text, re.I):
        found.add("0.1")
    return tuple(sorted(found))


def lessons(stats: dict | None = None) -> list[Lesson]:
    """The book's lessons in table-of-contents order, with their measured figures."""
    import nbformat
    import yaml

    stats = load_stats() if stats is None else stats
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    keys = [c["file"] + ".ipynb" for part in toc["parts"] for c in part["chapters"] if c["file"].startswith("notebooks/")]
    out = []
    for key in keys:
        nb = nbformat.read(ROOT / key, as_version=4)
        measured = stats.get("notebooks", {}).get(key, {})
        first_code = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code")
        header = "\n\n".join(c.source for c in nb.cells[:first_code] if c.cell_type == "markdown")
        out.append(Lesson(
            key=key, number=lesson_number(key), title=nb.cells[0].source.splitlines()[0].lstrip("# ").strip(),
            words=sum(len(re.findall(r"\w+", c.source)) for c in nb.cells if c.cell_type == "markdown"),
            code_lines=sum(_code_lines(c) for c in nb.cells
                           if c.cell_type == "code" and "solution" not in c.metadata.get("tags", [])),
            exercises=sum(1 for c in nb.cells if "solution" in c.metadata.get("tags", [])),
            exercise_minutes=sum(exercise_minutes(nb.cells).values()),
            prerequisites=prerequisites_of(header),
            exec_seconds=measured.get("wall_s"), peak_mb=measured.get("peak_rss_mb"),
            datasets=tuple(measured.get("datasets", ()))))
    return out


def exercise_minutes(cells) -> dict[int, int]:
    """Solution cell index -> the time its exercise's statement gives ("*About 20 minutes.*", in the
    last markdown cell before the solution that states one), or EXERCISE_MINUTES where none does."""
    out, stated = {}, None
    for i, cell in enumerate(cells):
        if cell.cell_type == "markdown":
            found = STATED_MINUTES.findall(cell.source)
            stated = int(found[-1]) if found else stated
        elif "solution" in cell.metadata.get("tags", []):
            out[i] = stated if stated is not None else EXERCISE_MINUTES
            stated = None  # each statement times one exercise
    return out


@dataclass(frozen=True)
class Section:
    title: str
    words: int
    code_lines: int
    exercises: int
    exec_seconds: float
    exercise_minutes: int = 0

    @property
    def minutes(self) -> float:
        return (self.words / WORDS_PER_MINUTE + self.code_lines / CODE_LINES_PER_MINUTE
                + self.exercise_minutes + self.exec_seconds / 60)


def _code_lines(cell) -> int:
    return len([ln for ln in cell.source.splitlines() if ln.strip() and not ln.strip().startswith("#")])


def sections(key: str, stats: dict | None = None) -> list[Section]:
    """A lesson's ``##`` sections (what precedes the first one is "Introduction") with the slot
    model's parts: the prose, the code outside the hidden solutions, the exercises and the measured
    execution of the section's code cells (``cell_seconds`` in the statistics file; 0 where a
    measurement predates it). Their sum is the lesson's slot before rounding."""
    import nbformat

    stats = load_stats() if stats is None else stats
    measured = stats.get("notebooks", {}).get(key, {}).get("cell_seconds", [])
    nb = nbformat.read(ROOT / key, as_version=4)
    parts: list[dict] = [dict(title="Introduction", words=0, code_lines=0, exercises=0, exec_seconds=0.0,
                              exercise_minutes=0)]
    stated = exercise_minutes(nb.cells)
    code_index = 0
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            # a cell may hold a heading anywhere: the text before it belongs to the previous section
            for piece in re.split(r"^(?=##\s)", cell.source, flags=re.M):
                heading = re.match(r"##\s+(.+)", piece)
                if heading:
                    parts.append(dict(title=heading.group(1).strip(), words=0, code_lines=0, exercises=0,
                                      exec_seconds=0.0, exercise_minutes=0))
                parts[-1]["words"] += len(re.findall(r"\w+", piece))
        elif cell.cell_type == "code":
            tags = cell.metadata.get("tags", [])
            if "solution" in tags:
                parts[-1]["exercises"] += 1
                parts[-1]["exercise_minutes"] += stated[index]
            else:
                parts[-1]["code_lines"] += _code_lines(cell)
            parts[-1]["exec_seconds"] += measured[code_index] if code_index < len(measured) else 0.0
            code_index += 1
    return [Section(**p) for p in parts if p["words"] or p["code_lines"] or p["exercises"]]


def estimated_time_markdown(key: str, stats: dict | None = None) -> str:
    """A lesson header's estimated time: the slot and the time of each section, from the model."""
    lesson = next((les for les in lessons(stats) if les.key == key), None)
    if lesson is None:
        return ""
    parts = " · ".join(f"{sec.title} {max(1, round(sec.minutes))} min" for sec in sections(key, stats))
    return (f"**Estimated time: about {lesson.minutes} minutes** at a first-year student's pace "
            f"({WORDS_PER_MINUTE} words and {CODE_LINES_PER_MINUTE} lines of code a minute, each exercise's "
            f"stated time, plus the measured execution). By section: {parts}.")


def _pack(all_lessons: list[Lesson], days: int, budget: int) -> list[list[Lesson]]:
    """Greedy: each day takes, in book order, every lesson whose prerequisites are taught (earlier
    days, or earlier the same day) and that still fits in the day's budget."""
    taught: set[str] = set()
    remaining = list(all_lessons)
    plan = []
    for _ in range(days):
        day, used = [], 0
        for lesson in list(remaining):
            if set(lesson.prerequisites) <= taught and used + lesson.minutes <= budget:
                day.append(lesson)
                taught.add(lesson.number)  # taught before the day's later lessons, which come after it in book order
                used += lesson.minutes
                remaining.remove(lesson)
        plan.append(day)
    return plan


def programme(all_lessons: list[Lesson], days: int, minutes_per_day: int = SCHOOL_DAY_MINUTES) -> list[list[Lesson]]:
    """Lessons per day, in book order, honouring the prerequisites: the smallest daily budget (at
    least the longest lesson, at most ``minutes_per_day``) with which every lesson fits in ``days``
    days, so that a long school spreads them evenly and keeps time for exercises; when even
    ``minutes_per_day`` is not enough, the lessons that fit nowhere are left out."""
    shortest = max(les.minutes for les in all_lessons)
    for budget in range(shortest, minutes_per_day + 1, 5):
        plan = _pack(all_lessons, days, budget)
        if sum(len(day) for day in plan) == len(all_lessons):
            return plan
    return _pack(all_lessons, days, minutes_per_day)


def students_per_node(peak_mb: float, node_memory_gb: float, node_cores: int, reserve_gb: float = 4.0) -> tuple[int, int]:
    """(kernels that fit in the node's memory, kernels that can run their heavy cells at once):
    each kernel planned at KERNEL_MARGIN x its measured peak, ``reserve_gb`` kept for the system;
    the lessons' training runs on one core each."""
    fit = int((node_memory_gb - reserve_gb) * 1000 // (peak_mb * KERNEL_MARGIN))
    return max(fit, 0), min(max(fit, 0), node_cores)


def _dataset_size(name: str) -> str:
    """The full mode's download: the published size, or the registry's bound where none is published."""
    from data_fetchers.registry import _human_size, get_dataset

    dataset = get_dataset(name)
    if dataset.size_bytes is not None:
        return _human_size(dataset.size_bytes)
    return f"up to {_human_size(sum(f.size_limit for f in dataset.files))}, no size published"


def schedule_markdown(stats: dict | None = None) -> str:
    all_lessons = lessons(stats)
    rows = ["| lesson | slot | of which execution | exercises | prerequisites |", "|---|---:|---:|---:|---|"]
    for les in all_lessons:
        run = duration(les.exec_seconds) if les.exec_seconds else "not measured"
        rows.append(f"| {les.number} {les.title} | {les.minutes} min | {run} | {les.exercises} | "
                    f"{', '.join(les.prerequisites) or '–'} |")
    text = "\n".join(rows) + "\n"
    for days, label in ((1, "One day"), (3, "Three days"), (5, "Five days")):
        plan = programme(all_lessons, days)
        text += f"\n**{label}** ({SCHOOL_DAY_MINUTES // 60} hours of lessons a day):\n\n"
        for d, day in enumerate(plan, start=1):
            total = sum(les.minutes for les in day)
            if day:
                text += f"- Day {d} ({total} min): " + "; ".join(f"{les.number} {les.title} ({les.minutes} min)" for les in day) + "\n"
            else:
                text += f"- Day {d}: the exercises' extensions, the full mode on a hub, a project on the students' own data\n"
            if day and total < SCHOOL_DAY_MINUTES - 60:
                text = text.rstrip("\n") + f"; {SCHOOL_DAY_MINUTES - total} min left for exercises and questions\n"
        left = [les for les in all_lessons if all(les not in day for day in plan)]
        if left:
            text += "- Left out: " + ", ".join(f"{les.number} {les.title}" for les in left) + "\n"
    return text


def capacity_markdown(node_memory_gb: float = 64, node_cores: int = 16, stats: dict | None = None) -> str:
    rows = [f"| lesson | measured peak | kernels per {node_memory_gb:.0f} GB node | running at once on {node_cores} cores "
            "| full-mode data |", "|---|---:|---:|---:|---|"]
    for les in lessons(stats):
        if les.peak_mb is None:
            rows.append(f"| {les.number} {les.title} | not measured | – | – | – |")
            continue
        fit, running = students_per_node(les.peak_mb, node_memory_gb, node_cores)
        data = ", ".join(f"{name} ({_dataset_size(name)})" for name in les.datasets) or "–"
        rows.append(f"| {les.number} {les.title} | {memory(les.peak_mb)} | {fit} | {running} | {data} |")
    return "\n".join(rows)


# Where students get stuck, per lesson: read into the instructor edition (scripts/editions.py).
INSTRUCTOR_NOTES: dict[str, list[str]] = {
    "notebooks/00-getting-started/01-root-to-histogram.ipynb": [
        "Jagged arrays: a mask on muons (one value per muon) and a mask on events (one per event) look alike; "
        "`ak.num(muons) == 2` selects events, `muons.pt > 20` selects muons. Ask students to print `ak.type` of each.",
        "The mass axis is logarithmic: the J/psi, Upsilon and Z sit a factor 30 apart; point at each before the fit.",
        "Full mode reads a 2.1 GiB file: at a venue, use the school mirror, never 50 downloads.",
    ],
    "notebooks/01-root-and-bdt/01-root-awkward-selection.ipynb": [
        "Overlap removal (`ak.cartesian` with `nested=True`, then `deltaR`) is the hardest cell: draw one event with "
        "two jets and one muon on the board.",
        "`EventWeight` already normalises each simulated file to the data's luminosity: a cut flow sums weights, it "
        "does not count events; students who count events get data/simulation far from 1.",
        "The Dask cell starts worker processes: on Binder's single CPU it works but is slower than the in-memory run, "
        "which is expected (the point is that the same function runs unchanged).",
    ],
    "notebooks/01-root-and-bdt/02-bdt-higgsml.ipynb": [
        "The -999 values are 'undefined', not numbers: a cut-based selection on an undefined feature silently drops "
        "those events, a BDT learns from the fact that they are missing.",
        "Two weights: `Weight` (physics) and `KaggleWeight` (renormalised per challenge part); the AMS on a test part "
        "needs KaggleWeight. Mixing them is the most common error.",
        "The threshold chosen on the same data as the AMS is optimistic; the k-fold section is where this lands.",
    ],
    "notebooks/02-cnn-jet-images/01-top-tagging-cnn.ipynb": [
        "Preprocessing (centring, rotation, flipping) is where images go wrong: have students plot one jet before and "
        "after each step.",
        "Background rejection 1/eps_B at fixed eps_S is read from the ROC curve's other axis; students used to accuracy "
        "need the factor-of-ten differences between taggers explained.",
        "Training is the lesson's longest cell: start it, then discuss the baseline (mass and tau32) while it runs.",
    ],
    "notebooks/03-gnn-tracking/01-gnn-tracking.ipynb": [
        "Edges are candidate hit pairs on adjacent layers; most are fake. The graph cuts (phi slope, z0) come from the "
        "helix: revisit the curvature of a charged track in 2 T before building the graph.",
        "Message passing: the no-message-passing ablation is the control that shows what the graph adds.",
        "Lesson 3.2 retrains the same network at its start (under a minute on a CPU): teaching both on one day, start "
        "3.2's training cell while 3.1's summary is discussed.",
    ],
    "notebooks/03-gnn-tracking/02-edges-to-tracks.ipynb": [
        "Edge efficiency and purity are not track efficiency: one wrong or missing edge cuts or merges a whole track, "
        "and the TrackML score weights hits differently again. Ask students to predict the score from 3.1's AUC first.",
        "Double-majority matching reads like a tautology at first: draw a track with hits of two particles on the board "
        "and count both majorities.",
        "The classical triplet following does slightly better than the network here: present it as the result (a strong "
        "baseline), not as a failure of the GNN.",
    ],
    "notebooks/04-calo-gan/01-calo-gan.ipynb": [
        "A GAN's losses do not decrease like a classifier's: the Wasserstein estimate and the physics monitors are what "
        "to watch; explain mode collapse on the monitor plot.",
        "Showers below 1 GeV are the worst modelled: students who look there first conclude the GAN failed everywhere.",
        "Lesson 4.2 retrains the same GAN at its start (about a minute on a CPU): teaching both on one day, start 4.2's "
        "training cell while 4.1's summary is discussed.",
    ],
    "notebooks/04-calo-gan/02-classifier-test.ipynb": [
        "The classifier test needs its control: reference against reference gives about 0.5, and only the distance "
        "from that control means anything.",
        "Students are surprised that the GAN which matched the layer fractions in 4.1 is caught almost every time: ask "
        "them to predict its AUC before running the test, then read the two halves of Exercise 1 together.",
        "Published AUCs come from a larger classifier trained longer: compare models under one classifier, not digits "
        "across papers.",
    ],
    "notebooks/05-sbi/01-sbi-z-boson.ipynb": [
        "Prior, likelihood and posterior: make sure the tractable twin's exact posterior is understood before NPE is "
        "trained to reproduce it.",
        "Calibration plots (SBC ranks, expected coverage) read upside down at first: a U shape means over-confident, "
        "a hump under-confident. Exercise 1 builds an over-confident estimator on purpose.",
        "The posterior is only as good as the simulator: the misspecification exercise (a 0.3 % momentum scale) gives "
        "a confidently wrong answer that the predictive check cannot see.",
    ],
    "notebooks/06-fpga/01-fpga-jet-tagger.ipynb": [
        "ap_fixed<W,I>: I counts the sign bit; students expect I to be the integer part alone. Have them change WIDTH "
        "and INTEGER in the C++ demonstration and predict the step and the range first.",
        "Each hls4ml compile() takes several seconds of g++: the bit-width scan is the slow part, not the training.",
    ],
    "notebooks/06-fpga/02-qat-hgq2.ipynb": [
        "HGQ2's (k, b, i) counts neither the sign in b nor in i, while ap_fixed<W,I> counts it in both: have students "
        "translate the three rows of the lesson's table before they read the generated defines.h.",
        "The lesson retrains lesson 6.1's float network with the same seeded functions (hepml.fpga), so the numbers "
        "match 6.1's: a student who changed 6.1's parameters should not expect them to carry over.",
        "Keras on the PyTorch backend: KERAS_BACKEND must be set before the first `import keras` in the kernel; a student "
        "who ran a later cell first (Keras imported with its default backend) needs to restart the kernel.",
        "Bit-exact means identical outputs, not similar ones: ask why float32 can hold every fixed-point value here "
        "exactly (few bits, a binary point), and what would break it (wider sums than float32's 24-bit mantissa).",
    ],
}


# ---------------------------------------------------------------- chapter intro pages
def _header_paragraph(header: str, name: str) -> str:
    """The text of a lesson header's ``**Name.**`` paragraph (up to the next blank line)."""
    m = re.search(rf"\*\*{re.escape(name)}\.?\*\*(.*?)(?:\n\n|$)", header, re.S)
    return " ".join(m.group(1).split()) if m else ""


def _objectives(header: str) -> list[str]:
    """The numbered items of a header's *Learning objectives* list, each on one line."""
    m = re.search(r"\*\*Learning objectives\.?\*\*.*?\n(.*?)(?:\n\n|$)", header, re.S)
    items = re.split(r"\n\s*\d+\.\s+", "\n" + m.group(1)) if m else []
    return [" ".join(item.split()).rstrip(";.") for item in items if item.strip()]


def _datasets_read(key: str) -> list[str]:
    import nbformat

    code = "\n".join(c.source for c in nbformat.read(ROOT / key, as_version=4).cells if c.cell_type == "code")
    return list(dict.fromkeys(re.findall(r"data_fetchers\.get\(\s*[\"']([\w-]+)[\"']", code)))


def chapter_markdown(chapter: str, stats: dict | None = None) -> str:
    """A chapter intro page's generated part, from its lessons' headers, the slot model, the
    measured figures and the data registry: lessons with times, objectives, prerequisites, data
    in both modes with sizes, where it runs. ``chapter``: the folder under notebooks/."""
    import nbformat

    from data_fetchers.registry import get_dataset
    from data_fetchers.samples import get_recipe

    stats = load_stats() if stats is None else stats
    chosen = [les for les in lessons(stats) if les.key.startswith(f"notebooks/{chapter}/")]
    if not chosen:
        raise ValueError(f"no lesson of the table of contents lies in notebooks/{chapter}/")
    out = ["## Lessons", "", "| lesson | estimated time | measured execution | peak memory | exercises |",
           "|---|---:|---:|---:|---:|"]
    headers = {}
    for les in chosen:
        nb = nbformat.read(ROOT / les.key, as_version=4)
        first_code = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code")
        headers[les.key] = "\n\n".join(c.source for c in nb.cells[:first_code] if c.cell_type == "markdown")
        run = duration(les.exec_seconds) if les.exec_seconds else "not measured"
        peak = memory(les.peak_mb) if les.peak_mb else "not measured"
        out.append(f"| [{les.number} {les.title}](../../{les.key}) | about {les.minutes} min | {run} | {peak} "
                   f"| {les.exercises} |")
    out += ["", f"Estimated times follow the slot model of [Planning a school](../school-planning.md) "
                f"(reading, code, exercises at a first-year student's pace, plus the measured execution).", ""]
    out += ["## What you will be able to do", ""]
    for les in chosen:
        if len(chosen) > 1:
            out.append(f"After lesson {les.number}:")
            out.append("")
        out += [f"- {item}" for item in _objectives(headers[les.key])] + [""]
    out += ["## Prerequisites", ""]
    out += [f"- Lesson {les.number}: {_header_paragraph(headers[les.key], 'Prerequisites')}" for les in chosen] + [""]
    out += ["## Data", "", "| dataset | sample mode (default) | full mode |", "|---|---|---|"]
    for name in dict.fromkeys(n for les in chosen for n in _datasets_read(les.key)):
        dataset, recipe = get_dataset(name), get_recipe(get_dataset(name))
        made = stats.get("generation", {}).get(name, {}).get("seconds")
        sample = (f"{recipe.summary} ({recipe.n_events:,} events, seed {recipe.seed}), generated once"
                  + (f" in {duration(made)} on one CPU" if made else "") + " and cached")
        verified = all(f.known_hash for f in dataset.files)
        full = (f"[the real dataset]({dataset.record_url}), {_dataset_size(name)} to download once; "
                + ("checked against the publisher's checksum" if verified else
                   "no checksum recorded yet: needs `HEPML_ACCEPT_UNVERIFIED=1`"))
        out.append(f"| **{name}**<br>{dataset.title} | {sample} | {full} |")
    out += ["", "Details, licences and the samples' realism tables: the [Data](../data.md) page.", ""]
    out += ["## Where it runs", ""]
    out += [f"- Lesson {les.number}: {_header_paragraph(headers[les.key], 'Where it runs')}" for les in chosen] + [""]
    out += ["## Instructor notes: where students get stuck", ""]
    for les in chosen:
        out += [f"- Lesson {les.number}: {note}" for note in INSTRUCTOR_NOTES.get(les.key, [])]
    out += ["", "Programmes, platforms, the pre-flight check and the school mirror: [For instructors](../instructors.md)."]
    return "\n".join(out) + "\n"
