"""Schema of a catalogue entry, and a validator whose errors say which entry, which field,
and what is wrong."""

from __future__ import annotations

import datetime
import re
from pathlib import Path
from urllib.parse import urlsplit

import yaml

KINDS = ["tutorial", "course/school", "dataset", "benchmark/challenge", "library/tool", "compute resource",
         "community/network", "review/book", "paper"]
TOPICS = ["tabular/BDT", "CNN/images", "GNN/graphs", "tracking", "generative/simulation", "SBI/inference",
          "fast ML/FPGA", "anomaly detection", "uncertainty", "MLOps/deployment", "foundation models",
          "ROOT/data analysis", "statistics", "general ML"]
LEVELS = ["beginner", "intermediate", "advanced"]
FORMATS = ["notebooks", "video", "text", "slides", "code", "data"]
HEP_DATA = ["yes", "no", "unknown"]
CHAPTERS = ["00-getting-started", "01-root-and-bdt", "02-cnn-jet-images", "03-gnn-tracking", "04-calo-gan", "05-sbi", "06-fpga"]  # the book's chapters, for "further reading"

DEFAULT_PATH = Path(__file__).with_name("resources.yaml")

REQUIRED = ["title", "url", "kind", "topics", "level", "format", "language", "host", "licence", "hep_data",
            "last_checked", "description"]
OPTIONAL = ["chapters", "last_failed"]  # last_failed: the date of a failed link check, until a check passes again


class CatalogueError(ValueError):
    """One or more invalid entries; the message lists each problem on its own line."""


def _list_of(value, allowed, field):
    if not isinstance(value, list) or not value:
        return [f"'{field}' must be a non-empty list such as [{allowed[0]}], not {value!r}"]
    return [f"'{field}' has {v!r}, which is not one of: {', '.join(allowed)}" for v in value if v not in allowed]


def normalise_url(url: str) -> str:
    """The form used to detect duplicates: lower-case scheme and host, no trailing slash, http = https."""
    parts = urlsplit(url.strip())
    path = parts.path.rstrip("/")
    query = f"?{parts.query}" if parts.query else ""
    return f"{parts.netloc.lower()}{path}{query}"


def check_entry(entry) -> list[str]:
    if not isinstance(entry, dict):
        return [f"is a {type(entry).__name__}, not a mapping of field: value"]
    problems = [f"field '{f}' is missing (use 'unknown' when the value is not known)" for f in REQUIRED if f not in entry]
    problems += [f"field '{f}' is not part of the schema (allowed: {', '.join(REQUIRED + OPTIONAL)})"
                 for f in entry if f not in REQUIRED + OPTIONAL]
    for f in ("title", "host", "licence", "description"):
        if f in entry and (not isinstance(entry[f], str) or not entry[f].strip()):
            problems.append(f"'{f}' must be a non-empty text (write 'unknown' if it is not known)")
    url = entry.get("url")
    if "url" in entry and not (isinstance(url, str) and re.fullmatch(r"https?://[^\s/]+\.[^\s]+", url)):
        problems.append(f"'url' must be a full http(s) address, not {url!r}")
    if "kind" in entry and entry["kind"] not in KINDS:
        problems.append(f"'kind' is {entry['kind']!r}, which is not one of: {', '.join(KINDS)}")
    for f, allowed in (("topics", TOPICS), ("level", LEVELS), ("format", FORMATS), ("chapters", CHAPTERS)):
        if f in entry:
            problems += _list_of(entry[f], allowed, f)
    if "language" in entry:
        lang = entry["language"]
        if not isinstance(lang, list) or not lang or not all(isinstance(x, str) and re.fullmatch(r"[a-z]{2}", x) for x in lang):
            problems.append(f"'language' must be a list of two-letter codes such as [en] or [fr, en], not {lang!r}")
    if "hep_data" in entry and entry["hep_data"] not in HEP_DATA + [True, False]:
        problems.append(f"'hep_data' is {entry['hep_data']!r}; use yes, no or unknown")
    if "last_checked" in entry:
        lc = entry["last_checked"]
        if not (lc == "never" or isinstance(lc, datetime.date)):
            problems.append(f"'last_checked' must be a date (YYYY-MM-DD) or 'never', not {lc!r}")
    if "last_failed" in entry and not isinstance(entry["last_failed"], datetime.date):
        problems.append(f"'last_failed' must be the date (YYYY-MM-DD) of the failed check, not {entry['last_failed']!r}")
    return problems


def validate(entries) -> list[dict]:
    """Return the entries, normalised; raise CatalogueError listing every problem."""
    if not isinstance(entries, list):
        raise CatalogueError("The catalogue must be a YAML list of entries (each starting with '- title: ...').")
    problems, seen = [], {}
    for i, entry in enumerate(entries, start=1):
        label = f"entry {i}" + (f" ({entry.get('title')!r})" if isinstance(entry, dict) and entry.get("title") else "")
        problems += [f"{label}: {p}" for p in check_entry(entry)]
        if isinstance(entry, dict) and isinstance(entry.get("url"), str):
            key = normalise_url(entry["url"])
            if key in seen:
                problems.append(f"{label}: 'url' {entry['url']} duplicates entry {seen[key]}; merge the two entries")
            else:
                seen[key] = i
    if problems:
        raise CatalogueError("The resource catalogue has problems:\n" + "\n".join(f"  - {p}" for p in problems))
    out = []
    for entry in entries:
        e = dict(entry)
        if isinstance(e["hep_data"], bool):  # YAML reads an unquoted yes/no as a boolean
            e["hep_data"] = "yes" if e["hep_data"] else "no"
        e.setdefault("chapters", [])
        out.append(e)
    return out


def load(path: Path | str | None = None) -> list[dict]:
    path = Path(path or DEFAULT_PATH)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise CatalogueError(f"{path} is not valid YAML: {exc}") from None
    return validate(data)
