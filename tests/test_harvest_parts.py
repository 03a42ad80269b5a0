"""The harvest's parts on their own: seeds, URLs, focus keywords, pacing, settings, the CLI's errors."""

import sys
import time
from datetime import date
from pathlib import Path

import pytest

from matrixcoder.cli import main
from matrixcoder.corpus.harvest import DEFAULT_KEYWORDS, HarvestConfig, read_seeds
from matrixcoder.corpus.harvest.crawl import Focus
from matrixcoder.corpus.harvest.extract import decode_html, document_kind, page_links
from matrixcoder.corpus.harvest.fetch import HostLimiter
from matrixcoder.corpus.harvest.urls import host_of, language_neutral, normalise_url
from matrixcoder.errors import InputError
from matrixcoder.labels.alliances import read_alliances

SHIPPED_SEEDS = Path(__file__).resolve().parent.parent / "corpus" / "seeds.csv"


def test_shipped_seeds_cover_every_alliance_once():
    seeds = read_seeds(SHIPPED_SEEDS)
    alliances = read_alliances()
    assert [seed.alliance for seed in seeds] == [alliance.acronym for alliance in alliances]
    for seed, alliance in zip(seeds, alliances, strict=False):
        assert host_of(seed.url) == host_of(alliance.website) and host_of(seed.url) in seed.domains


def test_seeds_default_domain_and_several_rows(tmp_path):
    path = tmp_path / "seeds.csv"
    path.write_text(
        "alliance,url,domains\n"
        "ALPHA,https://Alpha.EU/start#top,\n"
        'BETA,https://www.beta.eu/,"www.beta.eu beta.eu"\n'
        "BETA,https://docs.beta.eu/micro/,\n",
        encoding="utf-8",
    )
    alpha, beta, beta_docs = read_seeds(path)
    assert alpha.url == "https://alpha.eu/start" and alpha.domains == {"alpha.eu"}
    assert beta.domains == {"www.beta.eu", "beta.eu"} and beta_docs.domains == {"docs.beta.eu"}


@pytest.mark.parametrize(
    ("content", "where", "problem"),
    [
        ("alliance,link\nA,https://a.eu/\n", ":1", "columns must be alliance,url[,domains]"),
        ("alliance,url\nA,https://a.eu/\nB,ftp://b.eu/\n", ":3", "bad URL 'ftp://b.eu/'"),
        ("alliance,url\nA,https://a.eu/\n,https://b.eu/\n", ":3", "empty alliance"),
        ("alliance,url,domains\nA,https://a.eu/,b.eu\n", ":2", "host a.eu is not among its domains"),
        ("alliance,url,domains\nA,https://a.eu/,https://a.eu/\n", ":2", "bad domain 'https://a.eu/'"),
        ("alliance,url\nA,https://a.eu/\nA,https://a.eu\n", ":3", "already a seed of A (line 2)"),
        ("alliance,url\nA,https://a.eu/,extra\n", ":2", "3 fields for 2 columns"),
        ("alliance,url\n", "", "no seeds"),
    ],
)
def test_bad_seeds_name_the_line(tmp_path, content, where, problem):
    path = tmp_path / "seeds.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError) as error:
        read_seeds(path)
    assert error.value.source == f"{path}{where}" and problem in error.value.problem


def test_cli_bad_seeds_is_one_line_and_exit_2(tmp_path, monkeypatch, capsys):
    path = tmp_path / "seeds.csv"
    path.write_text("alliance,url\nA,not a url\n", encoding="utf-8")
    monkeypatch.setattr(sys, "argv", ["matrixcoder", "harvest", str(path), "--out", str(tmp_path / "c"), "--contact", "me@example.org"])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.strip() == f"matrixcoder: error: {path}:2: bad URL 'not a url' (need an absolute http or https URL)"
    assert not (tmp_path / "c").exists()


@pytest.mark.parametrize(
    ("settings", "option"),
    [
        ({"contact": "nobody"}, "--contact"),
        ({"max_pages": 0}, "--max-pages"),
        ({"timeout": 0}, "--timeout"),
        ({"since": date(2025, 1, 1), "until": date(2024, 1, 1)}, "--since"),
    ],
)
def test_bad_settings_are_input_errors(settings, option):
    with pytest.raises(InputError) as error:
        HarvestConfig(**{"contact": "me@example.org"} | settings)
    assert error.value.source == option


def test_user_agent_names_the_tool_and_the_contact_when_given():
    assert HarvestConfig(contact="me@example.org").user_agent.endswith("; +me@example.org)")
    anonymous = HarvestConfig().user_agent
    assert anonymous.startswith("matrixcoder/") and "+" not in anonymous


def test_url_normalisation():
    assert normalise_url("HTTP://Example.EU:80/a/./b/../c/?utm_source=x&b=2&a=1#part") == "http://example.eu/a/c/?a=1&b=2"
    assert normalise_url("https://example.eu") == "https://example.eu/"
    assert normalise_url("https://example.eu:8443/%7Euser/a%20b") == "https://example.eu:8443/~user/a%20b"
    with pytest.raises(ValueError):
        normalise_url("mailto:office@example.eu")
    assert language_neutral("https://x.eu/fr-be/offre/?lang=fr&page=2") == "https://x.eu/offre/?page=2"


def test_focus_keywords_match_word_starts_across_separators():
    focus = Focus(DEFAULT_KEYWORDS)
    assert focus.priority("https://x.eu/en/microcredentials/", "") == 1
    assert focus.priority("https://x.eu/study", "Our Micro-Credentials and ECTS") == 2
    assert focus.priority("https://x.eu/projects", "Projects") == 0  # "ECTS" is not in "projects"


def test_links_alternates_and_charsets():
    page = (
        '<html><head><base href="/base/"><link rel="alternate" hreflang="fr" href="/fr/page">'
        '</head><body><a href="../a#x">A</a><a href="mailto:x@y.eu">mail</a><a href="https://o.eu/b">B</a></body></html>'
    )
    links, alternates = page_links(page, "https://x.eu/en/page")
    assert links == [("https://x.eu/a", "A"), ("https://o.eu/b", "B")] and alternates == ["https://x.eu/fr/page"]
    body = "<html><body>Qualität</body></html>".encode("iso-8859-1")
    assert "Qualität" in decode_html(body, "iso-8859-1")
    assert "Qualität" in decode_html(b'<meta charset="iso-8859-1">' + body, None)
    assert document_kind("application/octet-stream", "https://x.eu/f", b"%PDF-1.7 ...") == "pdf"
    assert document_kind("image/png", "https://x.eu/f.png", b"\x89PNG") is None


def test_host_limiter_spaces_requests_to_one_host():
    limiter = HostLimiter(delay=0.1, per_host=1)
    started = time.monotonic()
    for _ in range(4):
        with limiter.slot("a.eu"):
            pass
    assert time.monotonic() - started >= 0.3
    started = time.monotonic()
    with limiter.slot("b.eu"):  # another host does not wait for a.eu's turn
        pass
    limiter.defer("b.eu", 0.2)  # as after a 429 with Retry-After
    with limiter.slot("b.eu"):
        pass
    assert 0.2 <= time.monotonic() - started < 0.3
