"""``matrixcoder harvest`` against real HTTP servers on 127.0.0.1 serving made-up alliance sites.

Each site runs on its own port, so each is its own host for the domain restriction. One
more site stands for "another domain": it must never be asked for anything.
"""

import _thread
import contextlib
import hashlib
import json
import logging
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pandas as pd
import pytest
from reportlab.pdfgen import canvas
from synthetic import write_examples

from matrixcoder.cli import main
from matrixcoder.corpus import load_corpus
from matrixcoder.corpus.harvest import HarvestConfig, harvest, work_dir_for
from matrixcoder.corpus.harvest.fetch import Fetcher, FetchError, HostLimiter
from matrixcoder.corpus.harvest.robots import Robots
from matrixcoder.errors import InputError
from matrixcoder.training.train import TrainConfig, train_model

CONTACT = "harvest-tests@example.org"
# Tiny timeouts and backoffs keep the hostile endpoints fast; no pause between requests.
CONFIG = HarvestConfig(contact=CONTACT, timeout=1.0, delay=0.0, retries=2, backoff=0.05, max_bytes=200_000, max_pages=30, workers=4)


class Site:
    """A web site on its own port: path -> handler, with a log of every request."""

    def __init__(self, routes: dict):
        self.routes = routes
        self.hits: list[str] = []
        self.times: dict[str, list[float]] = {}
        self.agents: set[str] = set()
        self.active = self.max_active = 0
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.site = self
        self.host = f"127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str = "/") -> str:
        return f"http://{self.host}{path}"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        site = self.server.site
        with site.lock:
            site.hits.append(self.path)
            site.times.setdefault(self.path, []).append(time.monotonic())
            site.agents.add(self.headers.get("User-Agent", ""))
            site.active += 1
            site.max_active = max(site.max_active, site.active)
        # Every request is in service for a moment before its answer starts, so requests
        # sent at the same time overlap here, whatever the answer does afterwards.
        time.sleep(0.02)
        with site.lock:
            site.active -= 1
        try:
            site.routes.get(self.path, status(404))(self)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the crawler hung up, as it should on slow and oversized responses

    def log_message(self, *args):
        pass


def page(body, content_type="text/html; charset=utf-8"):
    data = body.encode("utf-8") if isinstance(body, str) else body

    def handle(request):
        request.send_response(200)
        request.send_header("Content-Type", content_type)
        request.send_header("Content-Length", str(len(data)))
        request.end_headers()
        request.wfile.write(data)

    return handle


def status(code, headers=()):
    def handle(request):
        request.send_response(code)
        for name, value in headers:
            request.send_header(name, value)
        request.send_header("Content-Length", "0")
        request.end_headers()

    return handle


def redirect(location, code=302):
    return status(code, [("Location", location)])


def html(title, paragraphs, links=(), head=""):
    anchors = "".join(f'<li><a href="{href}">{text}</a></li>' for href, text in links)
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        f"<!DOCTYPE html><html><head><title>{title}</title>{head}</head><body>"
        f"<nav><ul>{anchors}</ul></nav><main><article><h1>{title}</h1>{body}</article></main>"
        "<footer>Imprint and privacy</footer></body></html>"
    )


def sleepy(seconds):
    def handle(request):
        time.sleep(seconds)
        page("<html><body><p>Too late.</p></body></html>")(request)

    return handle


def drip(seconds):
    """Headers at once, then a byte every 0.2 s: only a total deadline stops it."""

    def handle(request):
        request.send_response(200)
        request.send_header("Content-Type", "text/html")
        request.end_headers()
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            request.wfile.write(b" ")
            request.wfile.flush()
            time.sleep(0.2)

    return handle


def endless(size):
    """An oversized body with no Content-Length: only streaming with a cap stops it."""

    def handle(request):
        request.send_response(200)
        request.send_header("Content-Type", "text/html")
        request.end_headers()
        chunk = b"<p>" + b"x" * 65_000 + b"</p>"
        for _ in range(size // len(chunk)):
            request.wfile.write(chunk)

    return handle


def once(first, then):
    calls = []

    def handle(request):
        calls.append(1)
        (first if len(calls) == 1 else then)(request)

    return handle


TEXT = "The alliance offers micro-credentials for learners across Europe, each worth a few ECTS credits."
SAME = html("Contact", ["Write to the alliance office in Bucharest.", "We answer within a week."])
LATIN = html("Micro-certifications", ["L'université délivre des micro-certifications reconnues.", "Über die Qualität wacht ein Ausschuss."])


@pytest.fixture(scope="module")
def sites(tmp_path_factory):
    elsewhere = Site({})
    alpha, beta, gamma = Site({}), Site({}), Site({})
    alpha.routes.update(
        {
            "/robots.txt": page("User-agent: *\nDisallow: /private/\n", "text/plain"),
            "/": page(
                html(
                    "ALPHA European University",
                    ["ALPHA is a European university alliance of nine universities.", TEXT],
                    [
                        ("/en/micro-credentials", "Our micro-credentials"),
                        ("/private/secret", "Staff area"),
                        ("/old", "News"),
                        ("/loop-a", "Loop"),
                        ("/same-a", "Contact"),
                        ("/same-b?utm_source=newsletter", "Contact us"),
                        ("/same-a?print=1", "Print"),
                        ("/logo.png", "Logo"),
                        (elsewhere.url("/partner"), "A partner elsewhere"),
                    ],
                )
            ),
            "/en/micro-credentials": page(
                html(
                    "Micro-credentials",
                    ["Our micro-credentials are short courses with ECTS credits.", "They are open to all learners."],
                    [("/fr/micro-certifications", "Français")],
                    '<link rel="alternate" hreflang="fr" href="/fr/micro-certifications">'
                    '<meta property="article:published_time" content="2024-11-05T09:00:00">',
                )
            ),
            "/fr/micro-certifications": page(
                html(
                    "Micro-certifications",
                    ["Nos micro-certifications sont des formations courtes avec des crédits ECTS.", "Elles sont ouvertes à tous."],
                    head='<link rel="alternate" hreflang="en" href="/en/micro-credentials">',
                )
            ),
            "/private/secret": page(html("Secret", ["Nobody should read this."])),
            "/old": redirect("/older", 302),
            "/older": redirect("/news/new", 301),
            "/news/new": page(html("News", ["The alliance launched a catalogue of micro-credentials in 2024."])),
            "/loop-a": redirect("/loop-b"),
            "/loop-b": redirect("/loop-a"),
            "/same-a": page(SAME),
            "/same-b": page(SAME),
            "/same-a?print=1": page(SAME.replace("<body>", "<body><!-- printed 12:00 -->")),
        }
    )
    beta.routes.update(
        {
            "/": page(
                html(
                    "BETA Alliance",
                    ["BETA brings together universities of applied sciences.", TEXT],
                    [
                        ("/about", "About"),
                        ("/missing", "Gone"),
                        ("/broken", "Broken"),
                        ("/busy", "Busy"),
                        ("/slow", "Slow"),
                        ("/drip", "Drip"),
                        ("/huge", "Huge"),
                        ("/away", "Moved away"),
                        (elsewhere.url("/other"), "Elsewhere"),
                    ],
                )
            ),
            "/about": page(html("About BETA", ["BETA publishes guidelines for the recognition of micro-credentials."])),
            "/missing": status(404),
            "/broken": status(500),
            "/busy": once(status(429, [("Retry-After", "1")]), page(html("Busy", ["Served after waiting as asked."]))),
            "/slow": sleepy(3.0),
            "/drip": drip(3.0),
            "/huge": endless(2_000_000),
            "/away": redirect(elsewhere.url("/landing")),
        }
    )
    pdf = tmp_path_factory.mktemp("pdf") / "report.pdf"
    gamma.routes.update(
        {
            "/robots.txt": page("User-agent: *\nAllow: /\n", "text/plain"),
            "/": page(
                html(
                    "GAMMA University",
                    ["GAMMA is an alliance for the green transition.", TEXT],
                    [
                        ("/report.pdf", "Annual report"),
                        ("/latin", "En français"),
                        ("/archive/2019", "Archive"),
                        ("/badges", "Digital badges"),
                    ],
                )
            ),
            "/report.pdf": lambda request: page(pdf.read_bytes(), "application/pdf")(request),
            "/latin": page(LATIN.encode("cp1252"), "text/html; charset=windows-1252"),
            "/archive/2019": page(
                html(
                    "Archive",
                    ["In 2019 the alliance held its first meeting."],
                    head='<meta property="article:published_time" content="2019-03-01">',
                )
            ),
            "/badges": page(html("Digital badges", ["Learners receive a digital badge for each micro-credential."])),
        }
    )
    yield {"ALPHA": alpha, "BETA": beta, "GAMMA": gamma, "elsewhere": elsewhere, "pdf": pdf}
    for site in (alpha, beta, gamma, elsewhere):
        site.close()


def write_seeds(path: Path, rows: list[tuple[str, str]]) -> Path:
    path.write_text("alliance,url\n" + "".join(f"{alliance},{url}\n" for alliance, url in rows), encoding="utf-8")
    return path


class _Records(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


def write_pdf(path: Path, pages: list[list[str]]) -> None:
    pdf = canvas.Canvas(str(path))
    for lines in pages:
        for row, line in enumerate(lines):
            pdf.drawString(60, 780 - 14 * row, line)
        pdf.showPage()
    pdf.save()


@pytest.fixture(scope="module")
def harvested(sites, tmp_path_factory):
    write_pdf(sites["pdf"], [["GAMMA annual report on micro-credentials.", "Short courses grew by a third."], ["Second page."]])
    root = tmp_path_factory.mktemp("harvest")
    seeds = write_seeds(root / "seeds.csv", [(name, sites[name].url("/")) for name in ("ALPHA", "BETA", "GAMMA")])
    records = _Records()
    logger = logging.getLogger("matrixcoder.corpus.harvest")
    logger.addHandler(records)
    logger.setLevel(logging.DEBUG)
    started = time.monotonic()
    try:
        result = harvest(seeds, root / "corpus", CONFIG)
    finally:
        logger.removeHandler(records)
    return {"root": root, "seeds": seeds, "result": result, "log": records.lines, "seconds": time.monotonic() - started}


def test_harvest_yields_expected_documents_with_provenance(harvested, sites):
    corpus = load_corpus(harvested["root"] / "corpus")
    documents = corpus.documents
    by_url = {(row["alliance"], row["url"].split("/", 3)[3]): row for row in documents.to_dict("records")}
    assert sorted(by_url) == [
        ("ALPHA", ""),
        ("ALPHA", "en/micro-credentials"),
        ("ALPHA", "fr/micro-certifications"),
        ("ALPHA", "old"),
        ("ALPHA", "same-a"),
        ("BETA", ""),
        ("BETA", "about"),
        ("BETA", "busy"),
        ("GAMMA", ""),
        ("GAMMA", "archive/2019"),
        ("GAMMA", "badges"),
        ("GAMMA", "latin"),
        ("GAMMA", "report.pdf"),
    ]
    old = by_url["ALPHA", "old"]
    assert old["final_url"] == sites["ALPHA"].url("/news/new") and old["source"] == old["final_url"]
    assert old["http_status"] == 200 and old["media_type"] == "text/html"
    assert pd.Timestamp(old["retrieved_at"]).tzinfo is not None
    raw = (harvested["root"] / "corpus" / old["raw_path"]).resolve()
    assert raw.is_relative_to(work_dir_for(harvested["root"] / "corpus")) and hashlib.sha256(raw.read_bytes()).hexdigest() == old["sha256"]
    params = json.loads(old["crawl_params"])
    assert params["contact"] == CONTACT and params["max_pages"] == 30 and old["depth"] == 1 and old["referrer"] == sites["ALPHA"].url("/")

    pdf = by_url["GAMMA", "report.pdf"]
    assert pdf["format"] == "pdf" and "annual report on micro-credentials" in pdf["text"]
    assert pdf["document_date"] == date.today().isoformat()  # the PDF's CreationDate
    assert set(corpus.units[corpus.units["doc_id"] == pdf["doc_id"]]["page"]) == {1, 2}
    latin = by_url["GAMMA", "latin"]
    assert "L'université délivre" in latin["text"] and "Über die Qualität" in latin["text"]
    assert by_url["ALPHA", "en/micro-credentials"]["document_date"] == "2024-11-05"
    assert by_url["ALPHA", "en/micro-credentials"]["language"] == "en" and by_url["ALPHA", "fr/micro-certifications"]["language"] == "fr"
    variants = {by_url["ALPHA", "en/micro-credentials"]["variant_group"], by_url["ALPHA", "fr/micro-certifications"]["variant_group"]}
    assert variants == {"alpha-micro-credentials"} and pd.isna(by_url["ALPHA", ""]["variant_group"])

    for unit in corpus.units.itertuples():
        assert documents.set_index("doc_id").loc[unit.doc_id, "text"][unit.start : unit.end] == unit.text
    info = corpus.info["harvest"]
    assert info["harvested_at"] and info["first_retrieved_at"] <= info["last_retrieved_at"]
    assert info["params"]["contact"] == CONTACT and info["alliances"]["ALPHA"]["robots"] == 1


def test_politeness_robots_domains_user_agent_and_host_cap(harvested, sites):
    assert "/private/secret" not in sites["ALPHA"].hits
    assert sites["elsewhere"].hits == []  # neither links nor a redirect led off the alliances' domains
    assert "/logo.png" not in sites["ALPHA"].hits
    for name in ("ALPHA", "BETA", "GAMMA"):
        site = sites[name]
        assert site.agents == {CONFIG.user_agent} and CONTACT in CONFIG.user_agent and "matrixcoder/" in CONFIG.user_agent
        assert site.hits.count("/robots.txt") == 1
    # One request at a time per host, though four workers were free and each home page links several.
    assert [sites[name].max_active for name in ("ALPHA", "BETA", "GAMMA")] == [1, 1, 1]


def test_each_hostile_endpoint_is_logged_and_counted(harvested, sites):
    log = "\n".join(harvested["log"])
    beta, alpha = sites["BETA"], sites["ALPHA"]
    expected = [
        f"BETA: {beta.url('/missing')}: http 404",
        f"BETA: {beta.url('/broken')}: http 500 (Internal Server Error; gave up after 3 attempts)",
        f"BETA: {beta.url('/slow')}: timeout (no response within 1 s)",
        f"BETA: {beta.url('/drip')}: timeout (body not complete within 1 s)",
        f"BETA: {beta.url('/huge')}: too large (body passed the 200000 byte limit; stopped reading)",
        f"BETA: {beta.url('/away')}: off-site redirect",
        f"{beta.url('/busy')}: http 429 (Too Many Requests); retrying in 1.0 s",
        f"ALPHA: {alpha.url('/loop-a')}: redirect loop ({alpha.url('/loop-a')} -> {alpha.url('/loop-b')} -> {alpha.url('/loop-a')})",
        f"ALPHA: {alpha.url('/private/secret')}: skipped, disallowed by robots.txt",
        f"ALPHA: {alpha.url('/same-b')}: skipped, same content as {alpha.url('/same-a')}",
        f"ALPHA: {alpha.url('/same-a?print=1')}: skipped, same text as {alpha.url('/same-a')}",
    ]
    for line in expected:
        assert line in log, line
    assert beta.hits.count("/broken") == 3  # retried twice with backoff
    first, second = beta.times["/busy"]
    assert second - first >= 0.95  # Retry-After: 1 honoured
    summary = harvested["result"].summary
    assert summary["BETA"].errors == Counter({"timeout": 2, "http 404": 1, "http 500": 1, "too large": 1, "off-site redirect": 1})
    assert summary["ALPHA"].errors == Counter({"redirect loop": 1}) and summary["ALPHA"].robots == 1 and summary["ALPHA"].duplicates == 2
    assert summary["GAMMA"].fetched == 5 and summary["GAMMA"].documents == 5 and not summary["GAMMA"].errors
    assert harvested["seconds"] < 30  # bounded: every wait is capped


def test_rerun_with_a_time_frame_rebuilds_from_snapshots_without_fetching(harvested, sites, tmp_path):
    out = tmp_path / "corpus"
    shutil.copytree(harvested["root"] / "corpus", out)
    shutil.copytree(work_dir_for(harvested["root"] / "corpus"), work_dir_for(out))
    before = {name: len(sites[name].hits) for name in ("ALPHA", "BETA", "GAMMA")}
    result = harvest(harvested["seeds"], out, HarvestConfig(contact=CONTACT, since=date(2024, 1, 1), until=date.today()))
    assert {name: len(sites[name].hits) for name in before} == before
    documents = load_corpus(out).documents
    assert not documents["url"].str.endswith("/archive/2019").any()  # dated 2019-03-01
    assert documents["url"].str.endswith("/en/micro-credentials").any()  # dated 2024-11-05
    assert documents["url"].str.endswith("/badges").any()  # undated: kept
    assert result.summary["GAMMA"].outside == 1 and len(documents) == 12


def test_score_runs_on_the_harvested_corpus(harvested, tmp_path, monkeypatch, fake_encoder, no_mlflow):
    examples = write_examples(tmp_path / "examples.jsonl", 8, 10, labels=("AP-MC", "FD3"), n_empty=1)
    model = train_model(examples, tmp_path / "model", TrainConfig(n_splits=3, min_positives=5)).bundle.path
    corpus = harvested["root"] / "corpus"
    monkeypatch.setattr(sys, "argv", ["matrixcoder", "score", str(corpus), "--out", str(tmp_path / "scores"), "--model", str(model)])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 0
    matrix = pd.read_csv(tmp_path / "scores" / "alliance_matrix.csv")
    assert sorted(matrix["alliance"]) == ["ALPHA", "BETA", "GAMMA"]
    assert len(pd.read_parquet(tmp_path / "scores" / "unit_scores.parquet")) == len(load_corpus(corpus).units)


def test_cli_prints_a_summary_and_keeps_a_log(harvested, sites, tmp_path, monkeypatch, capsys):
    seeds = write_seeds(tmp_path / "seeds.csv", [("GAMMA", sites["GAMMA"].url("/"))])
    out = tmp_path / "corpus"
    monkeypatch.setattr(sys, "argv", ["matrixcoder", "harvest", str(seeds), "--out", str(out), "--contact", CONTACT, "--delay", "0"])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1:4] == [
        "alliance\tfetched\tdocuments\trobots.txt\tduplicates\toutside dates\terrors",
        "GAMMA\t5\t5\t0\t0\t0\t",
        "total\t5\t5\t0\t0\t0\t",
    ]
    assert f"fetched {sites['GAMMA'].url('/report.pdf')}" in (work_dir_for(out) / "harvest.log").read_text(encoding="utf-8")
    assert load_corpus(out).info["documents"] == 5


def test_caps_on_pages_and_depth(harvested, sites, tmp_path):
    gamma = sites["GAMMA"]
    seeds = write_seeds(tmp_path / "seeds.csv", [("GAMMA", gamma.url("/"))])
    start = len(gamma.hits)
    harvest(seeds, tmp_path / "depth", HarvestConfig(contact=CONTACT, delay=0.0, max_depth=0))
    assert gamma.hits[start:] == ["/robots.txt", "/"]
    start = len(gamma.hits)
    harvest(seeds, tmp_path / "pages", HarvestConfig(contact=CONTACT, delay=0.0, max_pages=2))
    # The link with a focus keyword ("Digital badges") goes before the others.
    assert gamma.hits[start:] == ["/robots.txt", "/", "/badges"]


def test_unreachable_robots_txt_forbids_the_host_until_the_next_run(tmp_path, caplog):
    site = Site({"/robots.txt": status(503), "/": page(html("EPSILON", [TEXT]))})
    try:
        seeds = write_seeds(tmp_path / "seeds.csv", [("EPSILON", site.url("/"))])
        config = HarvestConfig(contact=CONTACT, delay=0.0, retries=1, backoff=0.01)
        with pytest.raises(InputError, match="no document could be harvested"):
            harvest(seeds, tmp_path / "corpus", config)
        assert site.hits == ["/robots.txt", "/robots.txt"] and not (tmp_path / "corpus").exists()
        assert f"{site.host}: robots.txt unavailable (http 503: Service Unavailable; gave up after 2 attempts)" in caplog.text
        site.routes["/robots.txt"] = status(404)  # the server is back, without a robots.txt
        assert harvest(seeds, tmp_path / "corpus", config).documents == 1
        assert site.hits[2:] == ["/robots.txt", "/"]
    finally:
        site.close()


def test_killed_harvest_resumes_without_fetching_again(tmp_path):
    gate = threading.Event()

    def gated(request):
        gate.wait(30)
        page(html("Gate", ["Reached the gate."]))(request)

    links = [("/p1", "First micro-credential"), ("/p2", "Second micro-credential"), ("/p3", "Third micro-credential"), ("/gate", "Gate")]
    site = Site(
        {
            "/robots.txt": page("User-agent: *\nAllow: /\n", "text/plain"),
            "/": page(html("DELTA alliance", [TEXT], links)),
            "/p1": page(html("One", ["The first micro-credential page."], [("/q1", "More")])),
            "/p2": page(html("Two", ["The second micro-credential page."])),
            "/p3": page(html("Three", ["The third micro-credential page."])),
            "/gate": gated,
            "/q1": page(html("More", ["A page two links away from the start."])),
        }
    )
    try:
        seeds = write_seeds(tmp_path / "seeds.csv", [("DELTA", site.url("/"))])
        out = tmp_path / "corpus"
        command = [
            sys.executable,
            "-m",
            "matrixcoder",
            "harvest",
            str(seeds),
            "--out",
            str(out),
            "--contact",
            CONTACT,
            "--delay",
            "0",
            "--timeout",
            "60",
        ]
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=Path(__file__).parent.parent)
        deadline = time.monotonic() + 60
        while "/gate" not in site.hits and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.05)
        assert "/gate" in site.hits, process.stderr.read().decode() if process.poll() is not None else "gate never reached"
        process.kill()
        process.wait(10)
        process.stderr.close()
        gate.set()
        assert not out.exists()  # killed mid-crawl: no corpus, not even a partial one
        assert Counter(site.hits) == {"/robots.txt": 1, "/": 1, "/p1": 1, "/p2": 1, "/p3": 1, "/gate": 1}

        result = harvest(seeds, out, HarvestConfig(contact=CONTACT, delay=0.0))
        # Only the request in flight at the kill is made again, then what was never fetched.
        assert Counter(site.hits) == {"/robots.txt": 1, "/": 1, "/p1": 1, "/p2": 1, "/p3": 1, "/gate": 2, "/q1": 1}
        assert result.documents == 6 and len(load_corpus(out).documents) == 6
    finally:
        gate.set()
        site.close()


def trickle(head: bytes, body: bytes, every: float = 0.4, limit: float = 6.0):
    """Sends ``head`` (status line and headers, raw) then ``body``, each one byte at a time.

    Each byte comes well within the socket timeout, so only a deadline for the whole request
    stops it; ``limit`` ends the trickle, so a crawler without one fails the test, not hangs it.
    """

    def handle(request):
        stop = time.monotonic() + limit
        for byte in head + body:
            if time.monotonic() > stop:
                return
            request.wfile.write(bytes([byte]))
            request.wfile.flush()
            time.sleep(every)

    return handle


@pytest.mark.parametrize(
    ("path", "detail"),
    [("/headers", "no response within 1 s"), ("/body", "body not complete within 1 s"), ("/both", "body not complete within 1 s")],
)
def test_a_trickled_response_ends_at_the_request_deadline(path, detail):
    head = b"HTTP/1.0 200 OK\r\nContent-Type: text/html\r\nContent-Length: 40\r\n\r\n"
    body = b"<html><body><p>Finally.</p></body></html>"[:40]
    site = Site(
        {
            "/headers": trickle(head, body),
            "/body": lambda request: (request.wfile.write(head), trickle(b"", body)(request)),
            # Headers take 0.6 s of the 1 s, so the body has what is left of the same deadline.
            "/both": lambda request: (request.wfile.write(head[:-3]), trickle(head[-3:], body, every=0.2)(request)),
        }
    )
    try:
        fetcher = Fetcher(HarvestConfig(contact=CONTACT, timeout=1.0, delay=0.0, retries=0), HostLimiter(0.0, 1))
        started = time.monotonic()
        with pytest.raises(FetchError) as error:
            fetcher.get(site.url(path))
        assert time.monotonic() - started < 2.0  # timeout + 1
        assert (error.value.kind, error.value.detail) == ("timeout", detail)
    finally:
        site.close()


class _MemoryRobots:
    def __init__(self):
        self.saved = {}

    def robots(self, host):
        return self.saved.get(host)

    def save_robots(self, host, status, body):
        self.saved[host] = (status, body)


@pytest.mark.parametrize(("asked", "obeyed", "capped"), [("100000", 60.0, True), ("7", 7.0, False)])
def test_crawl_delay_is_obeyed_up_to_a_cap(asked, obeyed, capped, caplog):
    site = Site({"/robots.txt": page(f"User-agent: *\nCrawl-delay: {asked}\nDisallow: /private/\n", "text/plain")})
    try:
        limiter = HostLimiter(0.0, 1)
        robots = Robots(Fetcher(HarvestConfig(contact=CONTACT, delay=0.0), limiter), _MemoryRobots())
        with caplog.at_level(logging.INFO, logger="matrixcoder.corpus.harvest"):
            assert robots.allowed(site.url("/")) and not robots.allowed(site.url("/private/x"))
        assert limiter.gap(site.host) == obeyed
        cap_lines = [record for record in caplog.records if "the most this crawl waits" in record.getMessage()]
        assert len(cap_lines) == capped
        if capped:
            assert (
                cap_lines[0].getMessage()
                == f"{site.host}: robots.txt asks for 100000 s between requests; waiting 60 s, the most this crawl waits"
            )
    finally:
        site.close()


@pytest.fixture
def no_proxy(monkeypatch):
    """Hosts are resolved here, not by a proxy named in the environment."""
    for name in ("http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


def test_no_resolvable_seed_host_fails_at_once_in_one_line(no_proxy, tmp_path, monkeypatch, capsys):
    seeds = write_seeds(tmp_path / "seeds.csv", [("A", "http://no-such-host.invalid/"), ("B", "https://nor-this-one.invalid/start")])
    out = tmp_path / "corpus"
    monkeypatch.setattr(sys, "argv", ["matrixcoder", "harvest", str(seeds), "--out", str(out), "--contact", CONTACT])
    started = time.monotonic()
    with contextlib.suppress(OSError):
        socket.getaddrinfo("no-such-host.invalid", 80)  # as slow as this resolver is to say no
    lookup = time.monotonic() - started
    started = time.monotonic()
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert time.monotonic() - started < lookup + 2  # not minutes of retries (the default: 3, from 2 s up)
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.splitlines() == [
        f"matrixcoder: error: {seeds}: no seed host can be resolved (no network?): no-such-host.invalid, nor-this-one.invalid; run again once it is back"
    ]
    assert not out.exists()


def test_an_unresolvable_seed_host_is_reported_once_and_skipped(no_proxy, tmp_path):
    site = Site({"/": page(html("ZETA", [TEXT]))})
    records = _Records()
    logger = logging.getLogger("matrixcoder.corpus.harvest")
    logger.addHandler(records)
    try:
        seeds = write_seeds(tmp_path / "seeds.csv", [("ZETA", site.url("/")), ("GONE", "http://no-such-host.invalid/")])
        result = harvest(seeds, tmp_path / "corpus", CONFIG)
    finally:
        logger.removeHandler(records)
        site.close()
    assert result.documents == 1 and site.hits == ["/robots.txt", "/"]
    (gone,) = [line for line in records.lines if "no-such-host.invalid" in line]  # once, no retries
    assert gone.startswith("no-such-host.invalid: host cannot be resolved (") and gone.endswith("); its URLs wait for the next run")
    assert result.summary["GONE"].fetched == 0 and not result.summary["GONE"].errors


def test_ctrl_c_says_what_was_kept_and_exits_130(tmp_path, monkeypatch, capsys):
    def interrupting(request):
        # Ctrl-C while this request is in flight: the main thread is inside the crawl until it ends.
        _thread.interrupt_main()
        page(html("Gate", ["Reached the gate."]))(request)

    site = Site({"/": page(html("ETA alliance", [TEXT], [("/gate", "Gate")])), "/gate": interrupting})
    # interrupt_main() does nothing unless Python's own SIGINT handler is installed, as it is in a
    # command run from a shell; a library loaded by an earlier test may have replaced it.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        seeds = write_seeds(tmp_path / "seeds.csv", [("ETA", site.url("/"))])
        out = tmp_path / "corpus"
        monkeypatch.setattr(sys, "argv", ["matrixcoder", "harvest", str(seeds), "--out", str(out), "--contact", CONTACT, "--delay", "0"])
        with pytest.raises(SystemExit) as exit_info:
            main()
    finally:
        signal.signal(signal.SIGINT, previous)
        site.close()
    assert exit_info.value.code == 130
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines[-1] == f"matrixcoder: harvest interrupted; crawl state kept in {work_dir_for(out)}: run the same command again to resume"
    assert not any(line.startswith(("matrixcoder: aborted", "matrixcoder: interrupted", "Traceback")) for line in lines)
    assert (work_dir_for(out) / "state.sqlite").is_file() and not out.exists()
