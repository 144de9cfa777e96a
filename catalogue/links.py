"""Check every URL of the catalogue: HEAD (GET where HEAD is refused), redirects followed,
time-outs and retries; report dead and moved links; update last_checked for the live ones.

Written on requests rather than a link-checker package because the result must feed back into
the catalogue (per-entry dates, moved addresses) and tell "no network" apart from "dead".
"""

from __future__ import annotations

import datetime
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import requests

from .schema import normalise_url

USER_AGENT = "hepml-hands-on catalogue link checker (+https://github.com/hepml-hands-on)"


@dataclass
class LinkResult:
    url: str
    status: str  # ok, moved, dead, timeout, unreachable
    code: int | None = None
    final_url: str | None = None
    detail: str = ""

    @property
    def alive(self) -> bool:
        return self.status in ("ok", "moved")


def check_url(url: str, timeout: float = 10.0, retries: int = 2, session: requests.Session | None = None) -> LinkResult:
    session = session or requests.Session()
    headers = {"User-Agent": USER_AGENT}
    last = LinkResult(url, "unreachable", detail="not tried")
    for _ in range(retries + 1):
        try:
            response = session.head(url, allow_redirects=True, timeout=timeout, headers=headers)
            if response.status_code in (403, 405, 501):  # some servers refuse HEAD: ask with GET
                response = session.get(url, allow_redirects=True, timeout=timeout, headers=headers, stream=True)
                response.close()
        except requests.exceptions.Timeout:
            last = LinkResult(url, "timeout", detail=f"no answer within {timeout:g} s")
            continue
        except requests.exceptions.ConnectionError as exc:
            last = LinkResult(url, "unreachable", detail=f"connection failed ({type(exc).__name__})")
            continue
        except requests.exceptions.RequestException as exc:
            return LinkResult(url, "dead", detail=f"{type(exc).__name__}: {exc}")
        code = response.status_code
        if code < 400:
            permanent = any(h.status_code in (301, 308) for h in response.history)
            if permanent and normalise_url(response.url) != normalise_url(url):
                return LinkResult(url, "moved", code, response.url, "permanently redirected")
            return LinkResult(url, "ok", code, response.url)
        last = LinkResult(url, "dead", code, response.url, f"HTTP {code}")
        if code < 500 and code != 429:
            return last  # 404 and friends do not heal on retry
    return last


def check_all(urls: list[str], timeout: float = 10.0, retries: int = 2, workers: int = 8) -> list[LinkResult]:
    with requests.Session() as session, ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda u: check_url(u, timeout, retries, session), urls))


def looks_offline(results: list[LinkResult]) -> bool:
    """True when no address could even be connected to: this machine has no network, the links
    are not dead."""
    return bool(results) and all(r.status == "unreachable" for r in results)


def update_last_checked(text: str, alive_urls: set[str], date: datetime.date, dead_urls: set[str] = frozenset()) -> str:
    """Set `last_checked: <date>` in the YAML text for the entries whose URL is alive (and drop a
    `last_failed` left by an earlier check); write `last_failed: <date>` under `last_checked` for
    the entries whose URL is dead, keeping their `last_checked` (when the link last worked).

    Edits the text line by line, so comments and layout of the hand-written file survive.
    """
    out, current = [], None
    for line in text.splitlines(keepends=True):
        if re.match(r"^- ", line):
            current = None
        m = re.match(r"^\s*-?\s*url:\s*(\S+)\s*$", line)
        if m:
            current = m.group(1).strip("'\"")
        if re.match(r"^\s+last_failed:", line) and current in alive_urls | dead_urls:
            continue  # rewritten below for dead links, gone for live ones
        if current in alive_urls and re.match(r"^\s+last_checked:", line):
            line = re.sub(r"last_checked:.*", f"last_checked: {date.isoformat()}", line)
        out.append(line)
        if current in dead_urls and re.match(r"^\s+last_checked:", line):
            indent = re.match(r"^(\s+)", line).group(1)
            out.append(f"{indent}last_failed: {date.isoformat()}\n")
    return "".join(out)


def report(results: list[LinkResult]) -> str:
    lines = [f"{sum(r.alive for r in results)} of {len(results)} links alive."]
    moved = [r for r in results if r.status == "moved"]
    broken = [r for r in results if not r.alive]
    if moved:
        lines.append("Moved (update the url):")
        lines += [f"  {r.url} -> {r.final_url}" for r in moved]
    if broken:
        lines.append("Dead or unreachable:")
        lines += [f"  {r.url}: {r.status}{f' (HTTP {r.code})' if r.code else ''} {r.detail}".rstrip() for r in broken]
    return "\n".join(lines)
