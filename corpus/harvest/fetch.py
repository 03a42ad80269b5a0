"""HTTP for the crawler: per-host pacing, retries, redirects and a byte cap on every response."""

from __future__ import annotations

import contextlib
import email.message
import email.utils
import logging
import socket
import threading
import time
import urllib.parse
from collections.abc import Callable, Collection, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import requests
import requests.utils
import urllib3.poolmanager
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from matrixcoder.corpus.harvest.config import HarvestConfig
from matrixcoder.corpus.harvest.urls import host_of, resolve_link

__all__ = ["FetchError", "Fetcher", "HostLimiter", "Response", "unresolvable_hosts"]

log = logging.getLogger(__name__)

_REDIRECTS = {301, 302, 303, 307, 308}
# Servers label files they cannot name this way; the body decides what they are.
_UNLABELLED = {"", "application/octet-stream", "binary/octet-stream", "application/download", "application/force-download"}
_CHUNK = 64 * 1024


class FetchError(Exception):
    """A URL that gave no usable response.

    Args:
        kind: Short category for the summary ("timeout", "http 404", "too large", "redirect loop", ...).
        detail: What happened, for the log line.
        url: The URL that failed (for redirects, the hop that did).
        status: The HTTP status, when there was one.
    """

    def __init__(self, kind: str, detail: str, url: str, status: int | None = None) -> None:
        self.kind, self.detail, self.url, self.status = kind, detail, url, status
        super().__init__(f"{url}: {kind} ({detail})")


@dataclass(frozen=True)
class Response:
    """A complete response after redirects.

    Attributes:
        url: The URL asked for.
        final_url: Where the redirects, if any, ended.
        status: HTTP status of the final response.
        media_type: Content-Type without parameters, lower case ("" when missing).
        charset: Content-Type's charset parameter, if any.
        body: The body, decoded from any Content-Encoding, at most ``max_bytes`` long.
        retrieved_at: When the body was complete (UTC, ISO 8601).
    """

    url: str
    final_url: str
    status: int
    media_type: str
    charset: str | None
    body: bytes
    retrieved_at: str


class HostLimiter:
    """Paces requests per host: a minimum gap between their starts and a cap on those running.

    Args:
        delay: Seconds between the starts of two requests to one host.
        per_host: Requests to one host at the same time.
    """

    def __init__(self, delay: float, per_host: int) -> None:
        self._delay, self._per_host = delay, per_host
        self._lock = threading.Lock()
        self._next: dict[str, float] = {}
        self._gaps: dict[str, float] = {}
        self._running: dict[str, threading.Semaphore] = {}

    def gap(self, host: str) -> float:
        """Seconds between the starts of two requests to ``host`` now."""
        with self._lock:
            return self._gaps.get(host, self._delay)

    def set_delay(self, host: str, seconds: float) -> None:
        """Space this host's requests further apart (a robots.txt Crawl-delay)."""
        with self._lock:
            self._gaps[host] = max(self._delay, seconds)

    def defer(self, host: str, seconds: float) -> None:
        """Send nothing to ``host`` for ``seconds`` (after a 429 or 503, say)."""
        with self._lock:
            self._next[host] = max(self._next.get(host, 0.0), time.monotonic() + seconds)

    @contextlib.contextmanager
    def slot(self, host: str) -> Iterator[None]:
        """Hold one of the host's places for the duration of a request, starting on its turn."""
        with self._lock:
            running = self._running.setdefault(host, threading.Semaphore(self._per_host))
        with running:
            with self._lock:
                now = time.monotonic()
                start = max(now, self._next.get(host, 0.0))
                self._next[host] = start + self._gaps.get(host, self._delay)
            time.sleep(start - now)
            yield


class Fetcher:
    """Fetch URLs politely; thread-safe (one ``requests`` session per thread).

    Args:
        config: Timeouts, caps, retries and the User-Agent.
        limiter: The per-host pacing shared by all requests of the crawl.
    """

    def __init__(self, config: HarvestConfig, limiter: HostLimiter) -> None:
        self.config, self.limiter = config, limiter
        self._local = threading.local()

    def get(
        self,
        url: str,
        accept: Collection[str] | None = None,
        may_follow: Callable[[str], None] | None = None,
    ) -> Response:
        """GET ``url``, following redirects.

        Args:
            url: An absolute, normalised http(s) URL.
            accept: Media types worth reading; others are refused before their body is read.
                Unlabelled bodies (no type, octet-stream) are always read. None accepts all.
            may_follow: Called with each redirect target; raises :class:`FetchError` to refuse it.

        Raises:
            FetchError: Timeout, connection failure, an error status (after retries on 429 and
                5xx), a redirect loop or too many redirects, an unaccepted type, or too many bytes.
        """
        chain = [url]
        while True:
            outcome = self._with_retries(url, chain[-1], accept)
            if isinstance(outcome, Response):
                return outcome
            if outcome in chain:
                raise FetchError("redirect loop", " -> ".join([*chain, outcome]), chain[-1])
            if len(chain) > self.config.max_redirects:
                raise FetchError("too many redirects", f"more than {self.config.max_redirects}, next to {outcome}", chain[-1])
            if may_follow:
                may_follow(outcome)
            chain.append(outcome)

    def _session(self) -> requests.Session:
        if not hasattr(self._local, "session"):
            session = self._local.session = requests.Session()
            session.headers.update(
                {"User-Agent": self.config.user_agent, "Accept": "text/html,application/xhtml+xml,application/pdf;q=0.9,*/*;q=0.5"}
            )
            for scheme in ("http://", "https://"):
                session.mount(scheme, _DeadlineAdapter())
        return self._local.session

    def _with_retries(self, url: str, current: str, accept: Collection[str] | None) -> Response | str:
        """One hop: the response, or the redirect target; retries 429, 5xx and dropped connections."""
        config, host = self.config, host_of(current)
        for attempt in range(config.retries + 1):
            with self.limiter.slot(host):
                outcome = self._attempt(url, current, accept)
            if not isinstance(outcome, _Retry):
                return outcome
            if attempt == config.retries:
                error = outcome.error
                raise FetchError(error.kind, f"{error.detail}; gave up after {attempt + 1} attempts", error.url, error.status)
            wait = outcome.retry_after if outcome.retry_after is not None else config.backoff * 2**attempt
            log.info("%s: %s (%s); retrying in %.1f s", current, outcome.error.kind, outcome.error.detail, wait)
            # Deferring the host, not just this request, keeps every request to it waiting.
            self.limiter.defer(host, wait)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _attempt(self, url: str, current: str, accept: Collection[str] | None) -> Response | str | _Retry:
        """One request, with one deadline for connecting, the headers and the body together."""
        timeout = self.config.timeout
        with _deadline(timeout) as deadline:
            try:
                response = self._session().get(current, stream=True, timeout=(timeout, timeout), allow_redirects=False)
            except requests.RequestException as exc:
                return _request_failed(exc, current, timeout, deadline.expired.is_set())
            return self._answer(url, current, response, accept, deadline)

    def _answer(
        self, url: str, current: str, response: requests.Response, accept: Collection[str] | None, deadline: _Deadline
    ) -> Response | str | _Retry:
        """What the status says: retry, follow the redirect, fail, or read the body."""
        config = self.config
        status = response.status_code
        if status == 429 or status >= 500:
            response.close()
            retry_after = _retry_after(response.headers.get("Retry-After"))
            kind = f"http {status}"
            if retry_after is not None and retry_after > config.max_retry_after:
                raise FetchError(kind, f"Retry-After {retry_after:g} s is over the {config.max_retry_after:g} s limit", current, status)
            return _Retry(FetchError(kind, response.reason or "server error", current, status), retry_after)
        if status in _REDIRECTS:
            response.close()
            location = response.headers.get("Location", "")
            target = resolve_link(current, location)
            if target is None:
                raise FetchError("bad redirect", f"{status} to {location!r}", current, status)
            return target
        if status >= 300:
            response.close()
            raise FetchError(f"http {status}", response.reason or "error", current, status)
        return self._complete(url, current, response, accept, deadline)

    def _complete(
        self, url: str, final_url: str, response: requests.Response, accept: Collection[str] | None, deadline: _Deadline
    ) -> Response:
        message = email.message.Message()
        message["content-type"] = response.headers.get("Content-Type", "")
        media_type = message.get_content_type() if response.headers.get("Content-Type") else ""
        if accept is not None and media_type not in accept and media_type not in _UNLABELLED:
            response.close()
            raise FetchError("unsupported type", media_type, final_url, response.status_code)
        body = self._read_body(response, final_url, deadline)
        charset = message.get_param("charset")
        return Response(
            url=url,
            final_url=final_url,
            status=response.status_code,
            media_type=media_type,
            charset=charset.strip().lower() if isinstance(charset, str) and charset.strip() else None,
            body=body,
            retrieved_at=datetime.now(UTC).isoformat(timespec="seconds"),
        )

    def _read_body(self, response: requests.Response, url: str, deadline: _Deadline) -> bytes:
        """Stream the body, stopping at the byte cap, until the request's deadline."""
        cap, timeout = self.config.max_bytes, self.config.timeout
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > cap:
            response.close()
            raise FetchError("too large", f"Content-Length {declared} bytes is over the {cap} byte limit", url, response.status_code)
        chunks, size = [], 0
        try:
            for chunk in response.iter_content(_CHUNK):
                size += len(chunk)
                if size > cap:
                    raise FetchError("too large", f"body passed the {cap} byte limit; stopped reading", url, response.status_code)
                chunks.append(chunk)
        except FetchError:
            raise
        except Exception as exc:  # a closed or broken stream raises many types from urllib3 and http.client
            if deadline.expired.is_set() or "timed out" in str(exc):
                raise FetchError("timeout", f"body not complete within {timeout:g} s", url, response.status_code) from None
            raise FetchError("connection", f"body cut short ({_reason(exc)})", url, response.status_code) from None
        finally:
            response.close()
        # A body without Content-Length just ends when its socket is shut down: not complete.
        if deadline.expired.is_set():
            raise FetchError("timeout", f"body not complete within {timeout:g} s", url, response.status_code)
        return b"".join(chunks)


class _Deadline:
    """One wall-clock limit for a whole request: connecting, headers and body.

    Socket timeouts restart with every byte, so a server that trickles its answer (headers
    or body) holds a request as long as it likes. When this deadline passes, it shuts down
    the request's sockets, which ends any read waiting on them at once. (Name resolution comes
    before any socket, out of its reach: seed hosts are resolved once before the crawl.)

    Args:
        seconds: Time the request has, from now.
    """

    def __init__(self, seconds: float) -> None:
        self.expired = threading.Event()
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self.timer = threading.Timer(seconds, self._expire)
        self.timer.daemon = True

    def watch(self, sock: socket.socket) -> None:
        """Shut ``sock`` down when the deadline passes (at once if it has)."""
        with self._lock:
            self._sockets.append(sock)
            expired = self.expired.is_set()
        if expired:
            _shut(sock)

    def _expire(self) -> None:
        with self._lock:
            self.expired.set()
            sockets = list(self._sockets)
        for sock in sockets:
            _shut(sock)


# The deadline of the request this thread is making: urllib3 opens and reuses the sockets
# deep inside requests, and hands them to the deadline through this.
_current = threading.local()


@contextlib.contextmanager
def _deadline(seconds: float) -> Iterator[_Deadline]:
    """Make this thread's sockets, while the block runs, obey one new deadline."""
    deadline = _current.deadline = _Deadline(seconds)
    deadline.timer.start()
    try:
        yield deadline
    finally:
        deadline.timer.cancel()
        _current.deadline = None


def _watch(sock: socket.socket | None) -> None:
    deadline = getattr(_current, "deadline", None)
    if sock is not None and deadline is not None:
        deadline.watch(sock)


def _shut(sock: socket.socket) -> None:
    # Shutting down, unlike closing, is safe from another thread and wakes a blocked read.
    with contextlib.suppress(OSError):  # already closed, or handed over to its TLS wrapper
        sock.shutdown(socket.SHUT_RDWR)


class _Watched:
    """Mixin for urllib3 connections: each socket, new (``_new_conn``) or kept alive from an
    earlier request (``request``), goes to the deadline of the request in this thread."""

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()  # type: ignore[misc]
        _watch(sock)
        return sock

    def request(self, *args: Any, **kwargs: Any) -> Any:
        _watch(getattr(self, "sock", None))  # a TLS connection's socket is wrapped after _new_conn
        return super().request(*args, **kwargs)  # type: ignore[misc]


class _WatchedHTTPConnection(_Watched, HTTPConnection):
    pass


class _WatchedHTTPSConnection(_Watched, HTTPSConnection):
    pass


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


class _DeadlineAdapter(HTTPAdapter):
    """requests' adapter with connections whose sockets the request's deadline can shut down."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        _use_watched_pools(self.poolmanager)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> urllib3.poolmanager.PoolManager:
        return _use_watched_pools(super().proxy_manager_for(proxy, **proxy_kwargs))


def _use_watched_pools(manager: urllib3.poolmanager.PoolManager) -> urllib3.poolmanager.PoolManager:
    # A SOCKS proxy brings its own connection classes: those keep them (socket timeouts only).
    if manager.pool_classes_by_scheme is urllib3.poolmanager.pool_classes_by_scheme:
        manager.pool_classes_by_scheme = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}
    return manager


def unresolvable_hosts(urls: Iterable[str]) -> dict[str, str]:
    """The hosts of ``urls`` that DNS cannot resolve now, each with the reason.

    Asked once per host, all at once: offline, every request would fail only after its
    retries, each of them logged, for minutes. Hosts reached through a proxy are not asked:
    the proxy resolves them.
    """
    by_host = {host_of(url): url for url in urls}
    if not by_host:
        return {}
    with ThreadPoolExecutor(min(16, len(by_host)), thread_name_prefix="resolve") as pool:
        reasons = dict(zip(by_host, pool.map(_resolve_error, by_host.values()), strict=False))
    return {host: reason for host, reason in reasons.items() if reason}


def _resolve_error(url: str) -> str | None:
    """Why the URL's host cannot be resolved, or None when it can (or a proxy will)."""
    if requests.utils.get_environ_proxies(url):
        return None
    parts = urllib.parse.urlsplit(url)
    try:
        socket.getaddrinfo(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80), type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        return getattr(exc, "strerror", None) or str(exc)
    return None


@dataclass(frozen=True)
class _Retry:
    """An attempt worth repeating: the error it gave and the server's Retry-After, if any."""

    error: FetchError
    retry_after: float | None


def _request_failed(exc: requests.RequestException, url: str, timeout: float, expired: bool) -> _Retry:
    """The outcome of a request that gave no response: a timeout, a retry, or a bad request."""
    if expired or isinstance(exc, requests.Timeout):
        raise FetchError("timeout", f"no response within {timeout:g} s", url) from None
    if isinstance(exc, requests.ConnectionError):
        return _Retry(FetchError("connection", _reason(exc), url), None)
    raise FetchError("bad request", _reason(exc), url) from None


def _retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header: a number of seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _reason(exc: Exception) -> str:
    """The innermost message of a requests/urllib3 error chain, shortened."""
    while exc.args and isinstance(exc.args[0], Exception):
        exc = exc.args[0]
    text = str(exc.args[0]) if exc.args else type(exc).__name__
    return text.split(": ", 1)[-1][:160]
