"""The resource catalogue: schema, friendly errors, duplicates, rendering, and the link checker
against a real HTTP server on 127.0.0.1 (200, 301, 302, 404, 405-on-HEAD, 500, time-out)."""

from __future__ import annotations

import copy
import datetime
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import nbformat
import pytest
import yaml

import catalogue
from catalogue import links, schema
from catalogue.__main__ import main as catalogue_main
from local_http import serve

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def entries():
    return catalogue.load()


def test_catalogue_is_valid_and_large_enough(entries):
    assert len(entries) >= 80
    kinds = Counter(e["kind"] for e in entries)
    assert set(kinds) == set(schema.KINDS), f"every kind should be represented: {kinds}"


@pytest.mark.parametrize("needle", [
    "opendata.cern.ch/record/328", "zenodo.org/records/2603256", "zenodo.org/records/6619768", "JetNet",
    "zenodo.org/records/3164691", "zenodo.org/records/4730157", "zenodo.org/records/8099322", "openml.org/d/42468",
    "fair-universe", "opendata.atlas.cern", "opendata.cern.ch", "hsf-training", "hls4ml-tutorial", "gnn-tracking",
    "sbi.readthedocs.io", "indico.in2p3.fr", "neuromatch", "scikit-hep", "pytorch_geometric", "brevitas",
    "notebook.cc.in2p3.fr", "idris.fr/jean-zay", "mybinder.org", "colab.research.google.com", "swan.cern.ch",
    "iml.web.cern.ch", "hepsoftwarefoundation.org", "eucaif.org", "fastmachinelearning.org", "HEPML-LivingReview",
])
def test_catalogue_covers_what_the_community_asked_for(entries, needle):
    assert any(needle.lower() in e["url"].lower() for e in entries), needle


def test_every_chapter_has_catalogue_entries_and_links_to_the_page(entries):
    for chapter in schema.CHAPTERS:
        assert any(chapter in e["chapters"] for e in entries), f"no catalogue entry for chapter {chapter}"
        for nb_path in sorted((ROOT / "notebooks" / chapter).glob("*.ipynb")):
            text = "\n".join(c.source for c in nbformat.read(nb_path, as_version=4).cells if c.cell_type == "markdown")
            further = text[text.find("## Further reading"):]
            assert "book/resources" in further, f"{nb_path.name}: further reading must link to the resource catalogue"


def _one(**changes):
    entry = copy.deepcopy(catalogue.load()[0])
    entry.update(changes)
    return entry


@pytest.mark.parametrize("changes, message", [
    ({"kind": "tutorials"}, "entry 1 ('ATLAS Higgs machine-learning challenge 2014 dataset'): 'kind' is 'tutorials', which is not one of: tutorial,"),
    ({"topics": ["BDT"]}, "'topics' has 'BDT', which is not one of: tabular/BDT,"),
    ({"url": "opendata.cern.ch/record/328"}, "'url' must be a full http(s) address, not 'opendata.cern.ch/record/328'"),
    ({"last_checked": "yesterday"}, "'last_checked' must be a date (YYYY-MM-DD) or 'never', not 'yesterday'"),
    ({"hep_data": "maybe"}, "'hep_data' is 'maybe'; use yes, no or unknown"),
    ({"language": "English"}, "'language' must be a list of two-letter codes"),
    ({"homepage": "x"}, "field 'homepage' is not part of the schema"),
    ({"description": "  "}, "'description' must be a non-empty text (write 'unknown' if it is not known)"),
])
def test_a_bad_entry_gets_a_precise_friendly_error(changes, message):
    with pytest.raises(schema.CatalogueError) as info:
        schema.validate([_one(**changes)])
    assert message in str(info.value)


def test_missing_field_says_to_write_unknown():
    entry = _one()
    del entry["licence"]
    with pytest.raises(schema.CatalogueError, match=r"field 'licence' is missing \(use 'unknown'"):
        schema.validate([entry])


def test_duplicate_urls_are_rejected_even_when_spelled_differently():
    a = _one()
    b = _one(title="Copy", url=a["url"].replace("https://opendata.cern.ch", "http://OPENDATA.cern.ch") + "/")
    with pytest.raises(schema.CatalogueError, match=r"entry 2 \('Copy'\): 'url' .* duplicates entry 1"):
        schema.validate([a, b])


def test_unquoted_yes_is_accepted_as_hep_data():
    assert schema.validate([_one(hep_data=True)])[0]["hep_data"] == "yes"


def test_rendered_page_has_every_entry_with_filters(entries):
    page = catalogue.render_html(entries)
    assert page.count('class="hepml-resource"') == len(entries)
    for f in ("filter-search", "filter-topic", "filter-kind", "filter-level", "filter-hep"):
        assert f'id="{f}"' in page
    assert "not checked yet" in page
    hep = sum(e["hep_data"] == "yes" for e in entries)
    assert 0 < hep < len(entries) and page.count("hepml-badge hep") == hep  # the HEP-data badge, only on HEP data


# ------------------------------------------------------------------ link checker
HITS: Counter = Counter()


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def _reply(self, code, location=None, body=b"ok"):
        self.send_response(code)
        if location:
            self.send_header("Location", location)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command == "GET":
            self.wfile.write(body)

    def _route(self):
        name = self.path.strip("/")
        HITS[f"{self.command} {name}"] += 1
        if name == "ok":
            self._reply(200)
        elif name == "moved":
            self._reply(301, "/ok")
        elif name == "moved-308":
            self._reply(308, "/ok")
        elif name == "no-head-moved":  # refuses HEAD, and GET answers with a permanent redirect
            self._reply(405) if self.command == "HEAD" else self._reply(301, "/ok")
        elif name == "temporary":
            self._reply(302, "/ok")
        elif name == "no-head":
            self._reply(405 if self.command == "HEAD" else 200)
        elif name in ("forbidden-head", "unimplemented-head"):
            self._reply((403 if name.startswith("forbidden") else 501) if self.command == "HEAD" else 200)
        elif name == "flaky":
            if HITS[f"{self.command} flaky"] == 1:
                self.close_connection = True  # the first attempt is cut off before any answer
                self.connection.shutdown(2)
            else:
                self._reply(200)
        elif name == "error":
            self._reply(500)
        elif name == "slow":
            time.sleep(2)
            self._reply(200)
        else:
            self._reply(404)

    do_GET = do_HEAD = _route


@pytest.fixture(scope="module")
def server():
    with serve(Handler) as url:
        yield url


def test_link_statuses(server):
    HITS.clear()
    urls = [f"{server}/{p}" for p in ("ok", "moved", "temporary", "missing", "no-head", "error", "slow")]
    results = {r.url.rsplit("/", 1)[1]: r for r in links.check_all(urls, timeout=0.5, retries=1)}
    assert results["ok"].status == "ok"
    assert results["moved"].status == "moved" and results["moved"].final_url == f"{server}/ok"
    assert results["temporary"].status == "ok"  # a temporary redirect is not a move
    assert results["missing"].status == "dead" and results["missing"].code == 404
    assert results["no-head"].status == "ok" and HITS["GET no-head"] == 1
    assert results["error"].status == "dead" and results["error"].code == 500
    assert results["slow"].status == "timeout"
    assert HITS["HEAD missing"] == 1, "a 404 is not retried"
    assert HITS["HEAD error"] == 2, "a 500 is retried"
    text = links.report(list(results.values()))
    assert f"{server}/moved -> {server}/ok" in text and "HTTP 404" in text and "timeout" in text


def _catalogue_file(tmp_path, urls):
    base = catalogue.load()[0]
    data = [dict(base, title=f"entry {i}", url=u, last_checked="never") for i, u in enumerate(urls)]
    for d in data:
        d.pop("chapters", None)
    path = tmp_path / "resources.yaml"
    path.write_text("# a comment that must survive\n" + yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def test_update_writes_dates_for_live_links_only(server, tmp_path, capsys):
    path = _catalogue_file(tmp_path, [f"{server}/ok", f"{server}/missing", f"{server}/moved"])
    code = catalogue_main(["check-links", "--file", str(path), "--update", "--timeout", "1", "--retries", "0"])
    assert code == 1  # a dead link makes the command fail
    data = yaml.safe_load(path.read_text())
    today = datetime.date.today()
    assert [d["last_checked"] for d in data] == [today, "never", today]
    assert [d.get("last_failed") for d in data] == [None, today, None]  # the dead link is flagged
    assert path.read_text().startswith("# a comment that must survive")
    catalogue.load(path)  # the file stays valid
    out = capsys.readouterr().out
    assert "2 of 3 links alive" in out and "Moved (update the url)" in out


def test_no_network_is_said_clearly_and_nothing_is_marked(tmp_path, capsys):
    # port 9 is closed here: every connection is refused, as on a machine without network
    path = _catalogue_file(tmp_path, ["http://127.0.0.1:9/a", "http://127.0.0.1:9/b"])
    before = path.read_text()
    code = catalogue_main(["check-links", "--file", str(path), "--update", "--timeout", "1", "--retries", "0"])
    assert code == 2
    err = capsys.readouterr().err
    assert "seems to have no network access" in err and "nothing was marked dead" in err
    assert path.read_text() == before


def test_validate_command_reports_a_broken_file(tmp_path, capsys):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump([_one(kind="blog")]), encoding="utf-8")
    assert catalogue_main(["validate", "--file", str(path)]) == 1
    assert "'kind' is 'blog'" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["forbidden-head", "unimplemented-head"])
def test_servers_refusing_head_are_asked_with_get(server, name):
    HITS.clear()
    result = links.check_url(f"{server}/{name}", timeout=1, retries=0)
    assert result.status == "ok" and HITS[f"GET {name}"] == 1


def test_a_connection_cut_off_once_is_retried(server):
    HITS.clear()
    assert links.check_url(f"{server}/flaky", timeout=1, retries=1).status == "ok"
    assert HITS["HEAD flaky"] == 2
    HITS.clear()
    assert links.check_url(f"{server}/flaky", timeout=1, retries=0).status == "unreachable"


class _FakeResponse:
    def __init__(self, url, code, history=()):
        self.url, self.status_code, self.history = url, code, list(history)


class _FakeSession:
    """Answers with one prepared response, counting the calls."""
    def __init__(self, response=None, error=None):
        self.response, self.error, self.calls = response, error, 0

    def head(self, url, **kwargs):
        self.calls += 1
        if self.error:
            raise self.error
        return self.response

    get = head


def test_an_http_to_https_redirect_is_not_a_move():
    session = _FakeSession(_FakeResponse("https://example.org/page", 200, [_FakeResponse("http://example.org/page", 301)]))
    result = links.check_url("http://example.org/page", session=session, retries=0)
    assert result.status == "ok" and result.final_url == "https://example.org/page"
    session = _FakeSession(_FakeResponse("https://example.org/new", 200, [_FakeResponse("http://example.org/page", 301)]))
    assert links.check_url("http://example.org/page", session=session, retries=0).status == "moved"


def test_unreachable_hosts_are_retried_then_reported():
    import requests
    session = _FakeSession(error=requests.exceptions.ConnectionError("refused"))
    result = links.check_url("https://example.org", session=session, retries=2)
    assert result.status == "unreachable" and session.calls == 3


def test_offline_means_every_link_unreachable():
    unreachable = links.LinkResult("https://a", "unreachable")
    assert links.looks_offline([unreachable, unreachable])
    assert not links.looks_offline([unreachable, links.LinkResult("https://b", "ok")])
    assert not links.looks_offline([unreachable, links.LinkResult("https://b", "timeout")])
    assert not links.looks_offline([])


def test_a_308_redirect_is_a_move_too(server):
    result = links.check_url(f"{server}/moved-308", timeout=1, retries=0)
    assert result.status == "moved" and result.final_url == f"{server}/ok"


def test_a_get_fallback_follows_redirects(server):
    result = links.check_url(f"{server}/no-head-moved", timeout=1, retries=0)
    assert result.status == "moved" and result.final_url == f"{server}/ok"


@pytest.mark.parametrize("entry, message", [("just a title", "is a str, not a mapping"),
                                            (None, "is a NoneType, not a mapping")])
def test_an_entry_that_is_not_a_mapping_is_explained(entry, message):
    with pytest.raises(schema.CatalogueError, match=message):
        schema.validate([_one(), entry])


def test_a_url_that_is_not_text_is_explained():
    with pytest.raises(schema.CatalogueError, match="'url' must be a full http"):
        schema.validate([_one(url=42)])


def test_a_link_that_works_again_loses_its_failure_flag():
    from catalogue.links import update_last_checked

    text = ("- title: a\n  url: https://a.example/x\n  last_checked: 2026-01-01\n  last_failed: 2026-06-01\n"
            "- title: b\n  url: https://b.example/y\n  last_checked: never\n")
    day = datetime.date(2026, 12, 1)
    again = update_last_checked(text, {"https://a.example/x"}, day, {"https://b.example/y"})
    assert again == ("- title: a\n  url: https://a.example/x\n  last_checked: 2026-12-01\n"
                     "- title: b\n  url: https://b.example/y\n  last_checked: never\n  last_failed: 2026-12-01\n")
    # failing twice keeps one flag, with the newer date, and the date the link last worked
    twice = update_last_checked(again, set(), datetime.date(2026, 12, 8), {"https://a.example/x"})
    assert twice.count("last_failed") == 2 and "last_checked: 2026-12-01\n  last_failed: 2026-12-08" in twice


def test_the_page_flags_failed_stale_and_unchecked_links(entries):
    from catalogue.render import STALE_DAYS, freshness

    today = datetime.date(2026, 12, 1)
    base = dict(entries[0])
    recent = dict(base, last_checked=today - datetime.timedelta(days=3))
    old = dict(base, last_checked=today - datetime.timedelta(days=STALE_DAYS + 1))
    failed = dict(base, last_checked=datetime.date(2026, 1, 5), last_failed=datetime.date(2026, 11, 30))
    never = dict(base, last_checked="never")
    assert freshness(recent, today) == (f"checked {recent['last_checked']}", None)
    assert freshness(old, today)[1] == "stale" and f"over {STALE_DAYS} days" in freshness(old, today)[0]
    assert freshness(failed, today) == ("link failed on 2026-11-30; last worked 2026-01-05", "failed")
    assert freshness(never, today) == ("link not checked yet", "unchecked")
    page = catalogue.render_html([dict(recent, title="r", url="https://r.example"), dict(old, title="o", url="https://o.example"),
                                  dict(failed, title="f", url="https://f.example"), dict(never, title="n", url="https://n.example")],
                                 today=today)
    assert "Links: 1 of 4 checked within the last 180 days and alive; 1 failed at their last check; 1 checked longer ago; 1 not checked yet" in page
    assert '<span class="hepml-check failed">link failed on 2026-11-30' in page
    with pytest.raises(catalogue.CatalogueError, match="last_failed"):
        catalogue.validate([dict(base, last_failed="soon")])
