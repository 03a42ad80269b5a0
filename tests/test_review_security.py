"""Review app safety: loopback by default, token elsewhere, CSRF on POSTs, escaped text, no file
reads outside the corpus, and 4xx messages (never tracebacks) for bad requests."""

from __future__ import annotations

import threading
import time

import httpx
import pytest
from starlette.testclient import TestClient
from test_review_support import world_fixture  # noqa: F401  (registers the "world" fixture)

from matrixcoder.review.app import create_app
from matrixcoder.review.server import is_loopback, make_server

CSRF = "csrf-token-for-tests-0123456789"


@pytest.fixture(scope="module")
def session(world, tmp_path_factory):
    return world.session(tmp_path_factory.mktemp("security") / "r.db")


@pytest.fixture(scope="module")
def client(session):
    return TestClient(create_app(session, csrf=CSRF), base_url="http://127.0.0.1:8765", raise_server_exceptions=False)


def post(client, path, body, **headers):
    return client.post(path, json=body, headers={"X-CSRF-Token": CSRF, **headers})


def assert_clean_error(response, status):
    assert response.status_code == status, response.text
    assert "Traceback" not in response.text and 'File "' not in response.text
    if response.headers["content-type"].startswith("application/json"):
        assert response.json()["error"]
    else:
        assert 'id="error-message"' in response.text


def test_pages_carry_security_headers_and_escape_document_text(client, session):
    doc = next(d for d in session.documents if "Registration" in d["text"])
    response = client.get(f"/doc/{doc['doc_id']}")
    assert response.status_code == 200
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy and "frame-ancestors 'none'" in policy
    assert response.headers["x-content-type-options"] == "nosniff" and response.headers["x-frame-options"] == "DENY"
    assert "<script>window" not in response.text and "<img src=x" not in response.text
    assert "&lt;script&gt;window" in response.text and "&lt;img src=x onerror=" in response.text
    assert f'<meta name="csrf" content="{CSRF}">' in response.text
    assert "<script" not in response.text.replace('<script src="/static/app.js" defer></script>', "").replace(
        '<script type="application/json" id="codebook">', ""
    )


def test_loopback_server_answers_only_its_own_host_names(client):
    assert client.get("/").status_code == 200
    assert client.get("/", headers={"host": "localhost:8765"}).status_code == 200
    assert_clean_error(client.get("/", headers={"host": "evil.example:8765"}), 400)
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost") and not is_loopback("0.0.0.0")


def test_token_is_required_on_every_request_when_set(session):
    app = create_app(session, hosts=None, token="s3cret-token-value", csrf=CSRF)
    client = TestClient(app, base_url="http://192.0.2.10:9000", raise_server_exceptions=False)
    assert_clean_error(client.get("/"), 401)
    assert_clean_error(client.get("/static/app.js"), 401)
    assert_clean_error(client.get("/?token=wrong"), 401)
    assert_clean_error(post(client, "/api/decide", {"unit_id": "x", "action": "none"}), 401)
    assert client.get("/", headers={"authorization": "Bearer s3cret-token-value"}).status_code == 200
    first = client.get("/?token=s3cret-token-value&code=CL1", follow_redirects=False)
    assert first.status_code == 303 and first.headers["location"] == "/?code=CL1"
    cookie = first.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    assert client.get("/queue").status_code == 200  # the cookie now carries the token
    with pytest.raises(ValueError):
        create_app(session, hosts=None, token=None)


def test_posts_need_the_csrf_token_and_a_same_origin(client, session):
    unit = session.units[2]["unit_id"]
    assert_clean_error(client.post("/api/decide", json={"unit_id": unit, "action": "none"}), 403)
    assert_clean_error(post(client, "/api/decide", {"unit_id": unit, "action": "none"}, **{"X-CSRF-Token": "wrong"}), 403)
    assert_clean_error(post(client, "/api/decide", {"unit_id": unit, "action": "none"}, origin="http://evil.example"), 403)
    assert_clean_error(post(client, "/api/retrain", {}, origin="http://evil.example"), 403)
    ok = post(client, "/api/decide", {"unit_id": unit, "action": "none"}, origin="http://127.0.0.1:8765")
    assert ok.status_code == 200 and ok.json()["no_code"] is True
    assert post(client, "/api/decide", {"unit_id": unit, "action": "undo"}).json()["reviewed"] is False


def test_no_route_reads_files(client):
    assert client.get("/static/app.js").status_code == 200
    for path in (
        "/static/../../../../etc/passwd",
        "/static/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "/static/templates/base.html",
        "/doc/..%2F..%2F..%2Fetc%2Fpasswd",
        "/doc/%2Fetc%2Fpasswd",
        "/unit/..%2Fcorpus.json",
        "/corpus.json",
        "/review.db",
        "/static/app.js%00.txt",
    ):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "root:" not in response.text
        assert_clean_error(response, 404)


def test_bad_requests_get_a_4xx_with_a_message(client, session, monkeypatch):
    unit = session.units[0]["unit_id"]
    raw = client.post("/api/decide", content=b"{not json", headers={"X-CSRF-Token": CSRF, "content-type": "application/json"})
    assert_clean_error(raw, 400)
    assert_clean_error(post(client, "/api/decide", ["a", "list"]), 400)
    assert_clean_error(post(client, "/api/decide", {"unit_id": 5, "action": "none"}), 400)
    assert_clean_error(post(client, "/api/decide", {"unit_id": "no-such-unit", "action": "none"}), 404)
    assert_clean_error(post(client, "/api/decide", {"unit_id": unit, "action": "accept", "code": "XX9"}), 404)
    assert_clean_error(post(client, "/api/decide", {"unit_id": unit, "action": "explode"}), 400)
    assert_clean_error(post(client, "/api/decide", {"unit_id": unit, "action": "none", "code": "CL1"}), 400)
    assert_clean_error(post(client, "/api/decide", {"unit_id": unit, "action": "reject", "code": "CB5"}), 400)
    big = client.post("/api/decide", content=b"x" * 100_000, headers={"X-CSRF-Token": CSRF})
    assert_clean_error(big, 413)
    assert_clean_error(client.get("/api/decide"), 405)
    assert_clean_error(client.put("/", headers={"X-CSRF-Token": CSRF}), 405)
    assert_clean_error(client.get("/doc/no-such-document"), 404)
    assert_clean_error(client.get("/?alliance=" + "x" * 500), 400)
    assert client.get("/?alliance=<b>NOPE</b>&code=CL1").status_code == 200
    monkeypatch.setattr(session, "overview", lambda **_: 1 / 0)
    assert_clean_error(client.get("/"), 500)


def test_a_wildcard_bind_generates_a_token_and_enforces_it(session):
    server, sock, url = make_server(session, host="0.0.0.0", port=0)
    assert "?token=" in url and len(url.split("?token=")[1]) >= 20
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        local = url.replace("0.0.0.0", "127.0.0.1")
        assert httpx.get(local.split("?")[0]).status_code == 401
        with httpx.Client(follow_redirects=True) as browser:
            assert browser.get(local).status_code == 200
            assert browser.get(local.split("?")[0] + "queue").status_code == 200
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
