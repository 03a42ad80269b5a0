"""The review web app (Starlette): server-rendered pages, a small JSON API, safe by default.

Safety, all in :class:`Guard`:

- **Token.** With a token (always when bound to anything but loopback), every request must
  carry it: ``?token=`` once (it is then kept in an HttpOnly, SameSite=Strict cookie and the
  URL is cleaned), the cookie, or ``Authorization: Bearer``. Compared in constant time.
- **Host header.** Only the names the server was started for are answered (DNS rebinding
  cannot turn a web page into a reader of this one).
- **CSRF.** Every POST carries the page's CSRF token in ``X-CSRF-Token``, and a foreign
  ``Origin`` is refused.
- **Escaping.** Pages are Jinja2 templates with autoescape; data for scripts goes through
  ``tojson`` (which escapes ``<``, ``>``, ``&``, ``'``); scripts set text with ``textContent``.
  A Content-Security-Policy allows no inline script and nothing from elsewhere.
- **Files.** No route takes a path: documents are looked up by id in the loaded corpus, the
  two static files are read once at start-up from the package.
- **Errors.** Every error is a 4xx/5xx with a one-line message (HTML or JSON), never a traceback.
"""

from __future__ import annotations

import secrets
import sys
from collections.abc import Set as AbstractSet
from http import HTTPStatus
from importlib import resources
from urllib.parse import quote, urlencode

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from matrixcoder.errors import InputError
from matrixcoder.review.session import ReviewSession

__all__ = ["LOOPBACK", "create_app"]

LOOPBACK = ("127.0.0.1", "localhost", "::1")
_PACKAGE = resources.files("matrixcoder.review")
_STATIC = {"app.js": "text/javascript; charset=utf-8", "app.css": "text/css; charset=utf-8"}
_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
_TOKEN_COOKIE = "matrixcoder_review_token"
_MAX_BODY = 64 * 1024


def _templates() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(_PACKAGE / "templates")),
        autoescape=select_autoescape(["html"], default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["pct"] = lambda p: f"{p:.2f}"
    env.filters["q"] = lambda s: quote(str(s), safe="")
    return env


class Guard:
    """ASGI middleware for the token, the Host header, CSRF and the security headers.

    Args:
        app: The app to guard.
        hosts: Host names (without port) this server answers to; None answers any
            (a wildcard bind, which always has a token).
        token: The access token, or None (loopback only).
        csrf: The CSRF token embedded in every page.
    """

    def __init__(self, app: ASGIApp, hosts: AbstractSet[str] | None, token: str | None, csrf: str) -> None:
        self.app = app
        self.hosts = hosts
        self.token = token
        self.csrf = csrf

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        refusal = self._refusal(request)
        if refusal is not None:
            await _secure(refusal)(scope, receive, send)
            return
        if self.token and request.method == "GET" and "token" in request.query_params:
            # Keep the token in a cookie and take it out of the address bar (and of any Referer).
            rest = [(k, v) for k, v in request.query_params.multi_items() if k != "token"]
            target = request.url.path + (f"?{urlencode(rest)}" if rest else "")
            response = RedirectResponse(target, status_code=303)
            response.set_cookie(_TOKEN_COOKIE, self.token, httponly=True, samesite="strict", path="/")
            await _secure(response)(scope, receive, send)
            return

        async def send_secured(message):
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() not in _SECURITY_KEYS]
                message = {**message, "headers": headers + _SECURITY_HEADERS}
            await send(message)

        await self.app(scope, receive, send_secured)

    def _refusal(self, request: Request) -> Response | None:
        host = (request.headers.get("host") or "").lower()
        name = host.rsplit(":", 1)[0] if not host.startswith("[") else host[1:].split("]", 1)[0]
        if self.hosts is not None and name not in self.hosts:
            return _error(request, 400, f"unexpected Host header {host!r}; open the URL that 'matrixcoder review' printed")
        if self.token:
            given = request.query_params.get("token") or request.cookies.get(_TOKEN_COOKIE) or ""
            authorization = request.headers.get("authorization", "")
            if authorization.lower().startswith("bearer "):
                given = authorization[7:].strip()
            if not secrets.compare_digest(given.encode(), self.token.encode()):
                return _error(request, 401, "this review server needs its access token: open the URL that 'matrixcoder review' printed")
        if request.method not in ("GET", "HEAD", "POST"):
            return _error(request, 405, f"method {request.method} not allowed")
        if request.method == "POST":
            origin = request.headers.get("origin")
            if origin and origin != "null":
                origin_host = origin.split("://", 1)[-1].lower()
                if origin_host != host:
                    return _error(request, 403, f"cross-origin request from {origin!r} refused")
            if not secrets.compare_digest(request.headers.get("x-csrf-token", "").encode(), self.csrf.encode()):
                return _error(request, 403, "missing or wrong CSRF token; reload the page")
        return None


_SECURITY_HEADERS = [
    (b"content-security-policy", _CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
]
_SECURITY_KEYS = {key for key, _ in _SECURITY_HEADERS}


def _secure(response: Response) -> Response:
    for key, value in _SECURITY_HEADERS:
        response.headers[key.decode()] = value.decode()
    return response


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or "application/json" in request.headers.get("accept", "")


def _error(request: Request, status: int, message: str) -> Response:
    """A one-line error, as JSON for the API and as a small page for people."""
    message = " ".join(str(message).split())
    if _wants_json(request):
        return JSONResponse({"error": message, "status": status}, status_code=status)
    phrase = HTTPStatus(status).phrase
    return HTMLResponse(_ERROR_PAGE.render(status=status, phrase=phrase, message=message), status_code=status)


_ERROR_PAGE = _templates().get_template("error.html")


def create_app(  # noqa: C901  (the routes are small closures over the session)
    session: ReviewSession,
    *,
    hosts: frozenset[str] | set[str] | None = frozenset(LOOPBACK),
    token: str | None = None,
    csrf: str | None = None,
) -> ASGIApp:
    """The guarded ASGI app for a session.

    Args:
        session: What to serve.
        hosts: Host names to answer (loopback names by default); None for any (token required).
        token: Access token; required when ``hosts`` is None.
        csrf: CSRF token (random by default).
    """
    if hosts is None and not token:
        raise ValueError("a server that answers any host needs a token")
    csrf = csrf or secrets.token_urlsafe(24)
    env = _templates()
    static = {name: (_PACKAGE / "static" / name).read_bytes() for name in _STATIC}

    def render(name: str, request: Request, **context) -> HTMLResponse:
        context |= {
            "csrf": csrf,
            "coder": session.coder,
            "model": session.model.version,
            "path": request.url.path,
            "job": session.job.to_json(),
        }
        return HTMLResponse(env.get_template(name).render(**context))

    def documents_page(request: Request) -> Response:
        params = request.query_params
        filters = {key: params.get(key, "") for key in ("alliance", "language", "code")}
        for key, value in filters.items():
            if len(value) > 200:
                raise HTTPException(400, f"filter {key} is too long")
        overview = session.overview(**filters)
        return render("documents.html", request, overview=overview, filters=filters)

    def document_page(request: Request) -> Response:
        doc_id = request.path_params["doc_id"]
        row = session.doc_row.get(doc_id)
        if row is None:
            raise HTTPException(404, f"no document {doc_id!r} in this corpus")
        view = session.document_view(row)
        neighbours = {
            "previous": session.documents[row - 1]["doc_id"] if row > 0 else None,
            "next": session.documents[row + 1]["doc_id"] if row + 1 < len(session.documents) else None,
        }
        return render("document.html", request, view=view, neighbours=neighbours, codebook=session.codebook_json())

    def queue_page(request: Request) -> Response:
        pick = session.next_in_queue()
        if pick is None:
            return render("queue.html", request, unit=None, codebook=session.codebook_json())
        row = pick.row
        start, stop = session.documents[session.doc_index[row]]["rows"]
        document = session.documents[session.doc_index[row]]
        return render(
            "queue.html",
            request,
            unit=session.unit_view(row),
            why=session.why(pick),
            document=document,
            before=[session.units[r]["text"] for r in range(max(start, row - 2), row)],
            after=[session.units[r]["text"] for r in range(row + 1, min(stop, row + 3))],
            codebook=session.codebook_json(),
        )

    async def decide(request: Request) -> Response:
        body = await _json_body(request)
        unit_id, action, code = body.get("unit_id"), body.get("action"), body.get("code")
        if not isinstance(unit_id, str) or not isinstance(action, str) or not (code is None or isinstance(code, str)):
            raise HTTPException(400, "expected JSON with string 'unit_id' and 'action' and an optional string 'code'")
        try:
            view = session.decide(unit_id, action, code or None)
        except LookupError as exc:
            raise HTTPException(404, str(exc.args[0])) from None
        except (ValueError, InputError) as exc:
            raise HTTPException(409 if isinstance(exc, InputError) else 400, str(exc)) from None
        chips = env.get_template("_chips.html").render(unit=view)
        document = session.doc_row[view["doc_id"]]
        return JSONResponse(
            {
                "unit_id": unit_id,
                "reviewed": view["reviewed"],
                "no_code": view["no_code"],
                "chips": chips,
                "counts": session._counts(document, session.states()),
            }
        )

    async def skip(request: Request) -> Response:
        body = await _json_body(request)
        if not isinstance(body.get("unit_id"), str):
            raise HTTPException(400, "expected JSON with a string 'unit_id'")
        try:
            session.skip(body["unit_id"])
        except LookupError as exc:
            raise HTTPException(404, str(exc.args[0])) from None
        return JSONResponse({"skipped": body["unit_id"]})

    async def retrain(request: Request) -> Response:
        await _json_body(request)
        started = session.start_retrain()
        status = 202 if started else 409
        return JSONResponse(session.job.to_json() | {"started": started}, status_code=status)

    def retrain_status(request: Request) -> Response:
        return JSONResponse(session.job.to_json())

    def static_file(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in static:
            raise HTTPException(404, "no such file")
        return Response(static[name], media_type=_STATIC[name], headers={"cache-control": "no-cache"})

    def unit_link(request: Request) -> Response:
        row = session.row_of.get(request.path_params["unit_id"])
        if row is None:
            raise HTTPException(404, f"no unit {request.path_params['unit_id']!r} in this corpus")
        unit = session.units[row]
        return RedirectResponse(f"/doc/{quote(unit['doc_id'], safe='')}#u-{quote(unit['unit_id'], safe='')}", status_code=303)

    async def http_error(request: Request, exc: HTTPException) -> Response:
        return _error(request, exc.status_code, exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase)

    async def server_error(request: Request, exc: Exception) -> Response:
        print(f"matrixcoder review: error on {request.method} {request.url.path}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return _secure(_error(request, 500, f"internal error ({type(exc).__name__}); the server keeps running, see its terminal"))

    routes = [
        Route("/", documents_page, methods=["GET"]),
        Route("/doc/{doc_id}", document_page, methods=["GET"]),
        Route("/unit/{unit_id}", unit_link, methods=["GET"]),
        Route("/queue", queue_page, methods=["GET"]),
        Route("/static/{name}", static_file, methods=["GET"]),
        Route("/api/decide", decide, methods=["POST"]),
        Route("/api/skip", skip, methods=["POST"]),
        Route("/api/retrain", retrain, methods=["POST"]),
        Route("/api/retrain", retrain_status, methods=["GET"]),
    ]
    app = Starlette(routes=routes, exception_handlers={HTTPException: http_error, Exception: server_error})  # type: ignore[dict-item]  # Starlette types handlers by Exception
    return Guard(app, hosts, token, csrf)


async def _json_body(request: Request) -> dict:
    if int(request.headers.get("content-length") or 0) > _MAX_BODY:
        raise HTTPException(413, "request body too large")
    body = await request.body()
    if len(body) > _MAX_BODY:
        raise HTTPException(413, "request body too large")
    if not body:
        return {}
    import json

    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise HTTPException(400, "request body is not JSON") from None
    if not isinstance(data, dict):
        raise HTTPException(400, "request body must be a JSON object")
    return data
