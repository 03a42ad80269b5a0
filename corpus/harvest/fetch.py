"""HTTP for the crawler: per-host pacing, retries, redirects and a byte cap on every response."""

from __future__ import annotations

import contextlib
import email.message
import email.utils
import logging
import threading
import time
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone

import requests

from matrixcoder.corpus.harvest.config import HarvestConfig
from matrixcoder.corpus.harvest.urls import host_of, resolve_link

__all__ = ["FetchError", "Fetcher", "HostLimiter", "Response"]

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
            self._local.session = requests.Session()
            self._local.session.headers.update(
                {"User-Agent": self.config.user_agent, "Accept": "text/html,application/xhtml+xml,application/pdf;q=0.9,*/*;q=0.5"}
            )
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
        config = self.config
        try:
            response = self._session().get(current, stream=True, timeout=(config.timeout, config.timeout), allow_redirects=False)
        except requests.Timeout:
            raise FetchError("timeout", f"no response within {config.timeout:g} s", current) from None
        except requests.ConnectionError as exc:
            return _Retry(FetchError("connection", _reason(exc), current), None)
        except requests.RequestException as exc:
            raise FetchError("bad request", _reason(exc), current) from None
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
        return self._complete(url, current, response, accept)

    def _complete(self, url: str, final_url: str, response: requests.Response, accept: Collection[str] | None) -> Response:
        message = email.message.Message()
        message["content-type"] = response.headers.get("Content-Type", "")
        media_type = message.get_content_type() if response.headers.get("Content-Type") else ""
        if accept is not None and media_type not in accept and media_type not in _UNLABELLED:
            response.close()
            raise FetchError("unsupported type", media_type, final_url, response.status_code)
        body = self._read_body(response, final_url)
        charset = message.get_param("charset")
        return Response(
            url=url,
            final_url=final_url,
            status=response.status_code,
            media_type=media_type,
            charset=charset.strip().lower() if isinstance(charset, str) and charset.strip() else None,
            body=body,
            retrieved_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        )

    def _read_body(self, response: requests.Response, url: str) -> bytes:
        """Stream the body, stopping at the byte cap; a watchdog enforces the total timeout,
        which socket timeouts alone miss when a server sends a trickle."""
        cap, timeout = self.config.max_bytes, self.config.timeout
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > cap:
            response.close()
            raise FetchError("too large", f"Content-Length {declared} bytes is over the {cap} byte limit", url, response.status_code)
        fired = threading.Event()

        def expire() -> None:
            fired.set()
            response.close()

        remaining = timeout - response.elapsed.total_seconds()
        watchdog = threading.Timer(max(0.0, remaining), expire)
        watchdog.start()
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
            if fired.is_set() or "timed out" in str(exc):
                raise FetchError("timeout", f"body not complete within {timeout:g} s", url, response.status_code) from None
            raise FetchError("connection", f"body cut short ({_reason(exc)})", url, response.status_code) from None
        finally:
            watchdog.cancel()
            response.close()
        if fired.is_set():
            raise FetchError("timeout", f"body not complete within {timeout:g} s", url, response.status_code)
        return b"".join(chunks)


@dataclass(frozen=True)
class _Retry:
    """An attempt worth repeating: the error it gave and the server's Retry-After, if any."""

    error: FetchError
    retry_after: float | None


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
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


def _reason(exc: Exception) -> str:
    """The innermost message of a requests/urllib3 error chain, shortened."""
    while exc.args and isinstance(exc.args[0], Exception):
        exc = exc.args[0]
    text = str(exc.args[0]) if exc.args else type(exc).__name__
    return text.split(": ", 1)[-1][:160]
