"""HTML for the book's Resources page: entries grouped by kind, with badges and the data the
in-browser filters (book/_static/catalogue.js) work on. No server is needed."""

from __future__ import annotations

import datetime
import html
import re

from .schema import HEP_DATA, KINDS, LEVELS, TOPICS

_KIND_HEADINGS = {
    "tutorial": "Tutorials", "course/school": "Courses and schools", "dataset": "Datasets",
    "benchmark/challenge": "Benchmarks and challenges", "library/tool": "Libraries and tools",
    "compute resource": "Compute resources", "community/network": "Communities and networks",
    "review/book": "Reviews and books", "paper": "Papers",
}


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _select(name: str, label: str, options: list[str]) -> str:
    opts = "".join(f'<option value="{html.escape(o)}">{html.escape(o)}</option>' for o in options)
    return (f'<label class="hepml-filter">{label} <select id="filter-{name}" data-filter="{name}">'
            f'<option value="">any</option>{opts}</select></label>')


STALE_DAYS = 180  # a link checked longer ago than this is flagged on the page


def freshness(e: dict, today: datetime.date) -> tuple[str, str | None]:
    """What the page says of an entry's link check, and a warning flag (None when the check is recent and passed)."""
    if "last_failed" in e:
        worked = "" if e["last_checked"] == "never" else f"; last worked {e['last_checked']}"
        return f"link failed on {e['last_failed']}{worked}", "failed"
    if e["last_checked"] == "never":
        return "link not checked yet", "unchecked"
    if (today - e["last_checked"]).days > STALE_DAYS:
        return f"checked {e['last_checked']}, over {STALE_DAYS} days ago", "stale"
    return f"checked {e['last_checked']}", None


def _entry(e: dict, today: datetime.date) -> str:
    esc = html.escape
    checked, flag = freshness(e, today)
    checked = f'<span class="hepml-check {flag}">{esc(checked)}</span>' if flag else esc(checked)
    badges = [f'<span class="hepml-badge kind">{esc(e["kind"])}</span>']
    badges += [f'<span class="hepml-badge topic">{esc(t)}</span>' for t in e["topics"]]
    badges += [f'<span class="hepml-badge level">{esc(l)}</span>' for l in e["level"]]
    badges += [f'<span class="hepml-badge format">{esc(f)}</span>' for f in e["format"]]
    if e["hep_data"] == "yes":
        badges.append('<span class="hepml-badge hep">HEP data</span>')
    search = " ".join([e["title"], e["description"], e["host"], e["kind"], *e["topics"]]).lower()
    return (
        f'<div class="hepml-resource" id="res-{slug(e["title"])}" data-kind="{esc(e["kind"])}" '
        f'data-topics="{esc("|".join(e["topics"]))}" data-level="{esc("|".join(e["level"]))}" '
        f'data-hep="{esc(e["hep_data"])}" data-search="{esc(search)}">'
        f'<p class="hepml-title"><a href="{esc(e["url"])}">{esc(e["title"])}</a></p>'
        f'<p class="hepml-desc">{esc(e["description"])}</p>'
        f'<p class="hepml-badges">{"".join(badges)}</p>'
        f'<p class="hepml-meta">{esc(e["host"])} · licence: {esc(e["licence"])} · '
        f'language: {esc(", ".join(e["language"]))} · HEP data: {esc(e["hep_data"])} · {checked}</p>'
        "</div>"
    )


def render_html(entries: list[dict], today: datetime.date | None = None) -> str:
    today = today or datetime.date.today()
    flags = [freshness(e, today)[1] for e in entries]
    summary = (f'<p class="hepml-freshness">Links: {flags.count(None)} of {len(entries)} checked within the last '
               f'{STALE_DAYS} days and alive; {flags.count("failed")} failed at their last check; '
               f'{flags.count("stale")} checked longer ago; {flags.count("unchecked")} not checked yet '
               f'(<code>python -m catalogue check-links --update</code> records the checks).</p>')
    controls = (
        '<div class="hepml-controls">'
        '<label class="hepml-filter">Search <input type="search" id="filter-search" '
        'placeholder="title, description, host…"></label>'
        + _select("topic", "Topic", TOPICS) + _select("kind", "Kind", KINDS)
        + _select("level", "Level", LEVELS) + _select("hep", "HEP data", HEP_DATA)
        + f'<span id="hepml-count" class="hepml-count">{len(entries)} resources</span></div>'
    )
    groups = []
    for kind in KINDS:
        members = sorted((e for e in entries if e["kind"] == kind), key=lambda e: e["title"].lower())
        if members:
            groups.append(f'<section class="hepml-group" data-kind="{html.escape(kind)}">'
                          f'<h3>{_KIND_HEADINGS[kind]}</h3>' + "".join(_entry(e, today) for e in members) + "</section>")
    return f'<div id="hepml-catalogue" data-total="{len(entries)}">{summary}{controls}{"".join(groups)}</div>'
