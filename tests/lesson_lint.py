"""The lesson-structure lint: does a notebook follow the skeleton in DESIGN.md?

``lint_notebook(path)`` returns a list of problems (empty when the notebook is fine), so
that the lint itself can be tested on notebooks that break each rule.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat

HEADER_ITEMS = ["Learning objectives", "Prerequisites", "Estimated time", "Where it runs"]


def _tags(cell) -> list[str]:
    return cell.get("metadata", {}).get("tags", [])


def _index(cells, predicate) -> int | None:
    return next((i for i, c in enumerate(cells) if predicate(c)), None)


def _heading(cell, text: str) -> bool:
    return cell.cell_type == "markdown" and re.search(rf"^#+\s*{re.escape(text)}", cell.source, re.M | re.I) is not None


def _cells(row: str) -> int:
    return len(re.sub(r"\\\|", "", row.strip().strip("|")).split("|"))


def table_problems(markdown: str) -> list[str]:
    """Rows of Markdown tables whose number of cells differs from their header's."""
    problems, header = [], None
    for line in markdown.splitlines():
        if not line.lstrip().startswith("|"):
            header = None
            continue
        if header is None:
            header = _cells(line)
        elif _cells(line) != header:
            problems.append(f"a table row has {_cells(line)} cells where its header has {header} "
                            f"(a '|' inside math splits it: use \\lvert ... \\rvert): {line.strip()[:80]}")
    return problems


def lint_notebook(path: Path) -> list[str]:
    nb = nbformat.read(path, as_version=4)
    cells, problems = nb.cells, []

    # Markdown tables: every row has the header's number of cells (a | inside $...$, as in $|\eta|$,
    # splits a row and its last requirements vanish on the page; write \lvert ... \rvert)
    for i, c in enumerate(cells):
        if c.cell_type == "markdown":
            for problem in table_problems(c.source):
                problems.append(f"cell {i}: {problem}")

    # outputs are stripped in git
    for i, c in enumerate(cells):
        if c.cell_type == "code" and (c.get("outputs") or c.get("execution_count") is not None):
            problems.append(f"cell {i} has outputs or an execution count: strip outputs before committing")

    # 1. title, motivation, objectives, prerequisites, estimated time, where it runs
    if not cells or cells[0].cell_type != "markdown" or not re.match(r"#\s+\S", cells[0].source):
        problems.append("the first cell must be a Markdown cell starting with a '# Title'")
    intro = "\n".join(c.source for c in cells[:3] if c.cell_type == "markdown")
    for item in HEADER_ITEMS:
        if item.lower() not in intro.lower():
            problems.append(f"the introduction (first Markdown cells) must state '{item}'")
    # the estimated time is computed (bookkit.school: reading, code, exercises, measured execution) and
    # rendered with the measured figures by execution_figures(); a typed number of minutes drifts
    typed_minutes = re.findall(r"Estimated time[^\n]*?(\d+)\s*(?:min|minutes)\b", intro, re.I)
    if typed_minutes:
        problems.append(f"'Estimated time' hand-types {typed_minutes[0]} minutes: it is computed and rendered by "
                        f"execution_figures() (bookkit.school), in total and per section")
    # measured figures come from the one statistics file, never typed by hand (they drift)
    header = "\n\n".join(c.source for c in cells[:4] if c.cell_type == "markdown")
    timing = [para for para in header.split("\n\n") if re.search(r"estimated time|execut|peak memory", para, re.I)]
    typed = re.findall(r"\d[\d.,]*\s*(?:s|sec|seconds|MB|GB|MiB|GiB)\b", "\n".join(timing))
    if typed:
        problems.append(f"the header hand-types execution figures ({', '.join(typed)}): they are rendered by "
                        f"execution_figures() from book/_data/execution-stats.json")
    key = f"notebooks/{path.parent.name}/{path.name}"
    figures = [i for i, c in enumerate(cells[:4]) if c.cell_type == "code" and "execution_figures(" in c.source]
    if not figures:
        problems.append(f'the header must render the measured figures: a code cell tagged remove-input with '
                        f'execution_figures("{key}") among the first cells')
    elif f'execution_figures("{key}")' not in cells[figures[0]].source:
        problems.append(f'the header\'s execution_figures() must name this notebook: "{key}"')
    elif "remove-input" not in _tags(cells[figures[0]]):
        problems.append("the execution_figures() cell must be tagged remove-input (readers see only the figures)")

    # 2. setup: seed, device, data mode; a parameters cell
    code = "\n".join(c.source for c in cells if c.cell_type == "code")
    for needle, why in [("SEED", "a seed"), ("DEVICE", "the compute device (cuda when available)"),
                        ("data_fetchers", "data through data_fetchers")]:
        if needle not in code:
            problems.append(f"the setup must define {why} ('{needle}' not found)")
    params = [i for i, c in enumerate(cells) if c.cell_type == "code" and "parameters" in _tags(c)]
    if len(params) != 1:
        problems.append(f"exactly one code cell must be tagged 'parameters' (found {len(params)})")
    elif "DATA_MODE" not in cells[params[0]].source:
        problems.append("the parameters cell must hold DATA_MODE")
    elif "HEPML_ACCEPT_UNVERIFIED" not in cells[params[0]].source:
        # a reader switching to full mode learns there whether the download needs consent
        problems.append("the parameters cell must say, next to DATA_MODE, whether full mode needs "
                        "HEPML_ACCEPT_UNVERIFIED=1 (no checksum recorded) or not (checksum-verified)")

    # 4. exercises with solutions (executed, hidden on the website)
    exercises = _index(cells, lambda c: _heading(c, "Exercises"))
    solutions = [i for i, c in enumerate(cells) if "solution" in _tags(c)]
    if exercises is None:
        problems.append("there must be an '## Exercises' section")
    if not solutions:
        problems.append("exercises need at least one solution cell (tag 'solution')")
    for i in solutions:
        if cells[i].cell_type != "code":
            problems.append(f"solution cell {i} must be a code cell (it is executed in CI)")
        if "hide-cell" not in _tags(cells[i]):
            # hide-input alone would show the solution's plots and printed answers, spoiling the exercise
            problems.append(f"solution cell {i} must also be tagged 'hide-cell' (code and outputs behind a toggle)")
        if exercises is not None and i < exercises:
            problems.append(f"solution cell {i} comes before the Exercises section")
        if i == 0 or "skeleton" not in _tags(cells[i - 1]):
            # the student copy drops the solution: without a skeleton the student starts from a blank cell
            problems.append(f"solution cell {i} must follow the exercise's skeleton (a cell tagged 'skeleton')")

    # exercise skeletons: boilerplate with ... where the student works, raising until filled in
    # (tag raises-exception, so CI runs it; remove-output, so the website shows no traceback), then
    # the hidden solution, then a visible check the student runs after their own code
    for i, c in enumerate(cells):
        if "skeleton" not in _tags(c):
            continue
        if not {"raises-exception", "remove-output"} <= set(_tags(c)) or "raise NotImplementedError" not in c.source:
            problems.append(f"skeleton cell {i} must raise NotImplementedError and be tagged raises-exception, remove-output")
        if "..." not in c.source:
            problems.append(f"skeleton cell {i} has no ... for the student to fill in")
        after = [_tags(cells[j]) for j in (i + 1, i + 2) if j < len(cells)]
        if len(after) < 2 or "solution" not in after[0] or "exercise-check" not in after[1]:
            problems.append(f"skeleton cell {i} must be followed by its solution and an exercise-check cell")
        elif "assert" not in cells[i + 2].source:
            problems.append(f"the exercise-check cell {i + 2} must assert something")

    # 5. a self-check that asserts something
    checks = [i for i, c in enumerate(cells) if "self-check" in _tags(c)]
    if len(checks) != 1:
        problems.append(f"exactly one code cell must be tagged 'self-check' (found {len(checks)})")
    elif "assert" not in cells[checks[0]].source:
        problems.append("the self-check cell must assert the lesson's key result")

    # 6. summary and further reading, at the end
    summary = _index(cells, lambda c: _heading(c, "Summary"))
    reading = _index(cells, lambda c: _heading(c, "Further reading"))
    if summary is None:
        problems.append("there must be a '## Summary' section")
    if reading is None:
        problems.append("there must be a '## Further reading' section")
    if checks and summary is not None and checks[0] > summary:
        problems.append("the self-check must come before the Summary")

    # 7. every figure of the lesson (solutions and skeletons aside: hidden or not executed) has a
    # caption and a name, one figure per cell: readable without the code, cross-referenceable
    names: dict[str, int] = {}
    plotters = _figure_functions(cells)
    for i, c in enumerate(cells):
        if c.cell_type != "code" or {"solution", "skeleton"} & set(_tags(c)):
            continue
        shown = _figures_shown(c.source, plotters)
        if not shown:
            continue
        figure = c.metadata.get("mystnb", {}).get("figure", {})
        if shown > 1:
            problems.append(f"code cell {i} shows {shown} figures: one figure per cell, each with its caption")
        if not figure.get("caption") or not str(figure.get("name", "")).startswith("fig-"):
            problems.append(f"code cell {i} shows a figure without a caption and a name "
                            "(cell metadata mystnb.figure: caption, and a name starting with 'fig-')")
        elif _ends_with_a_value(c.source):
            # myst-nb captions every rich output of the cell: a table displayed there would become a second
            # figure with the same name
            problems.append(f"code cell {i} has a captioned figure and ends with a displayed value: "
                            "display it in a cell of its own")
        elif figure["name"] in names:
            problems.append(f"code cells {names[figure['name']]} and {i} have the same figure name {figure['name']!r}")
        else:
            names[figure["name"]] = i

    if nb.metadata.get("kernelspec", {}).get("name") != "python3":
        problems.append("the kernelspec must be 'python3' (the book's environment)")

    # 8. words follow outputs (lessons not rewritten yet are listed in WORDS_PENDING)
    if _lesson_number(path) not in WORDS_PENDING:
        problems += words_problems(cells)
    return problems


def _lesson_number(path: Path) -> str | None:
    """'1.1' for notebooks/01-root-and-bdt/01-root-awkward-selection.ipynb; None outside notebooks/NN-*/NN-*."""
    match = re.fullmatch(r"(\d\d)-[^/]+/(\d\d)-[^/]+\.ipynb", "/".join(Path(path).parts[-2:]))
    return f"{int(match.group(1))}.{int(match.group(2))}" if match else None


def _ends_with_a_value(source: str) -> bool:
    """The cell's last statement is an expression Jupyter displays (a call of a plain function, such as
    a plotting helper, is taken to return None)."""
    try:
        last = ast.parse(source).body[-1]
    except (SyntaxError, IndexError):
        return False
    if not isinstance(last, ast.Expr):
        return False
    value = last.value
    if isinstance(value, ast.Call):
        return isinstance(value.func, ast.Attribute) and not _is_show(value)
    return not isinstance(value, ast.Constant)


def _is_show(node) -> bool:
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "show"
            and isinstance(node.func.value, ast.Name) and node.func.value.id == "plt")


def _top_level_calls(source: str):
    """The calls a cell makes when it runs (not those inside the functions it defines)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return
    stack = list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        if isinstance(node, ast.Call):
            yield node
        stack.extend(ast.iter_child_nodes(node))


def _code_trees(cells):
    """The syntax tree of each code cell that parses (a cell that does not is the notebook test's to report)."""
    for c in cells:
        if c.cell_type != "code":
            continue
        try:
            yield ast.parse(c.source)
        except SyntaxError:
            continue


def _figure_functions(cells) -> set[str]:
    """Names of the lesson's functions that show a figure (plt.show() in their body)."""
    names = set()
    for tree in _code_trees(cells):
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and any(_is_show(n) for n in ast.walk(node)):
                names.add(node.name)
    return names


def _figures_shown(source: str, plotters: set[str]) -> int:
    calls = list(_top_level_calls(source))
    return (sum(1 for n in calls if _is_show(n))
            + sum(1 for n in calls if isinstance(n.func, ast.Name) and n.func.id in plotters))


# ------------------------------------------------------------------ words follow outputs
# Lessons not yet rewritten to the rules below (README, "Contributing a lesson"), with the issue that
# rewrites each. A lesson leaves this table when it passes them: test_lint.py fails on a lesson that
# is listed here and passes already, so the table cannot fall behind.
WORDS_PENDING = {
    "1.2": "issue 39", "2.1": "issue 39", "3.1": "issue 40", "3.2": "issue 40", "4.1": "issue 41",
    "4.2": "issue 41", "5.1": "issue 42", "6.1": "issue 43", "6.2": "issue 43",
}

_UNIT = r"(?:%|‰|×|σ|sigma|[kMGT]?eV|[pfna]b(?:⁻¹|\^-1)?|[KMGT]i?B|kB|[mcμ]?m|[mμn]?s|min|h)"
_NUMBER = re.compile(rf"(?<![\w.,/^_-])([-−+]?\d{{1,3}}(?:,\d{{3}})+|[-−+]?\d+)(\.\d+)?(\s*{_UNIT}(?![\w]))?")
# where a number is explained: a source named beside it (a link, a citation, a page of the book)
_SOURCE = re.compile(r"\]\(|<https?://|https?://|\{cite|\{doc\}|arXiv|doi:|DOI|PDG|[Pp]ublished|et al\.|Phys\. |JHEP|"
                     r"[Rr]ecord \d|realism table|Data page|recipe")
# what is not prose about results: code, glued values, links, references to lessons and exercises
_NOT_PROSE = [
    re.compile(r"\{glue(?::\w+)?\}`[^`]*`"), re.compile(r"\{\w+\}`[^`]*`"), re.compile(r"``[^`]*``|`[^`]*`"),
    re.compile(r"\]\([^)]*\)"), re.compile(r"<https?://[^>]*>|https?://\S+"), re.compile(r"<[^>]+>"),
    re.compile(r"(?i)\b(?:lessons?|chapters?|exercises?|sections?|steps?|parts?|python|version)\s+\d+(?:\.\d+)?"
               r"(?:\s*(?:,|and|or|to|–|-)\s*\d+(?:\.\d+)?)*"),
]


def _code_numbers(cells) -> set[float]:
    """Every number written in the lesson's code: its parameters, cuts and constants (a number the
    prose shares with the code is a setting of the lesson, not one of its results)."""
    found = set()
    for tree in _code_trees(cells):
        found |= {abs(float(n.value)) for n in ast.walk(tree)
                  if isinstance(n, ast.Constant) and isinstance(n.value, (int, float)) and not isinstance(n.value, bool)}
    return found


def _solution_text(source: str) -> str:
    """The comments of a solution cell (its answer in words), one paragraph per block of comment lines."""
    blocks, block = [], []
    for line in source.splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            block.append(stripped.lstrip("# "))
        elif "#" in line and not stripped.startswith(("'", '"')):
            blocks.append(" ".join(block))
            block = [line.split("#", 1)[1].strip()]
        else:
            blocks.append(" ".join(block))
            block = []
    return "\n\n".join(b for b in blocks + [" ".join(block)] if b)


def typed_numbers(text: str, code_numbers: set[float]) -> list[str]:
    """Numbers in ``text`` that look like a result (a decimal, a percentage, a quantity with its unit,
    an integer of three digits or more) and that nothing explains: not glued, not a number the code
    uses, and no source named in the same paragraph."""
    found = []
    for paragraph in re.split(r"\n\s*\n|\n(?=\s*(?:[-*+]|\d+\.)\s)", text):
        if _SOURCE.search(paragraph):
            continue
        prose = paragraph
        for pattern in _NOT_PROSE:
            prose = pattern.sub(" ", prose)
        for match in _NUMBER.finditer(prose):
            digits, decimals, unit = match.group(1), match.group(2) or "", (match.group(3) or "").strip()
            value = abs(float((digits + decimals).replace(",", "").replace("−", "-")))
            looks_like_a_result = decimals or unit or (value >= 100 and not 1900 <= value <= 2099)
            if not looks_like_a_result:
                continue
            candidates = {value, value / 100} if unit in ("%", "‰") else {value}
            if any(abs(v - c) <= 1e-9 * max(1.0, abs(c)) for v in candidates for c in code_numbers):
                continue
            found.append(match.group(0).strip())
    return found


def words_problems(cells) -> list[str]:
    """The rules that keep a lesson's words true to its outputs: no typed result numbers in its prose or
    its solutions' answers (glue them), its claims asserted in hidden claims cells, glued names defined."""
    problems = []
    code_numbers = _code_numbers(cells)
    for i, c in enumerate(cells):
        if c.cell_type == "markdown":
            text = c.source
        elif "solution" in _tags(c):
            text = _solution_text(c.source)
        else:
            continue
        typed = typed_numbers(text, code_numbers)
        if typed:
            where = "markdown cell" if c.cell_type == "markdown" else "the answer (comments) of solution cell"
            problems.append(f"{where} {i} types result numbers ({', '.join(typed)}): glue them from the outputs "
                            "(myst_nb.glue and {glue:text}`name`), print them from the variables, or name their "
                            "source beside them (a link, PDG, a publication, the Data page)")
    claims = [i for i, c in enumerate(cells) if "claims" in _tags(c)]
    if not claims:
        problems.append("the lesson needs a claims cell (a code cell tagged 'claims' and 'remove-cell', next to the "
                        "prose whose claims about results it asserts)")
    for i in claims:
        if cells[i].cell_type != "code" or "remove-cell" not in _tags(cells[i]) or "assert" not in cells[i].source:
            problems.append(f"claims cell {i} must be a code cell tagged 'remove-cell' that asserts the claims")
    glued = set(re.findall(r"""\bglue\(\s*["']([\w.-]+)["']""", "\n".join(c.source for c in cells if c.cell_type == "code")))
    used = {name for c in cells if c.cell_type == "markdown" for name in re.findall(r"\{glue(?::\w+)?\}`([\w.-]+)", c.source)}
    if used - glued:
        problems.append(f"the prose uses glued values that no code cell glues: {sorted(used - glued)}")
    return problems
