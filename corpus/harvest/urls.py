"""URL normalisation, hosts, and the language part of a URL."""

from __future__ import annotations

import posixpath
import re
from urllib.parse import parse_qsl, quote, unquote, urlencode, urljoin, urlsplit, urlunsplit

from matrixcoder.corpus.language import LANGUAGES

__all__ = ["host_of", "is_followable", "language_neutral", "normalise_url", "resolve_link"]

_DEFAULT_PORTS = {"http": 80, "https": 443}
# Parameters that track the visitor, not the content; dropping them merges their URLs.
_TRACKING = re.compile(r"^(utm_\w+|fbclid|gclid|mc_cid|mc_eid|_ga|sessionid|phpsessid|jsessionid)$", re.I)
# Files that cannot hold text we read: not worth a request.
_NOT_DOCUMENTS = re.compile(
    r"\.(jpe?g|png|gif|svg|webp|ico|bmp|tiff?|mp[34]|m4a|avi|mov|webm|wav|ogg|zip|rar|7z|gz|tgz|exe|dmg|"
    r"css|js|json|xml|rss|atom|ics|vcf|pptx?|xlsx?|odt|ods|odp|csv|woff2?|ttf|eot)$",
    re.I,
)
_LANGUAGE_CODE = re.compile(rf"^({'|'.join(LANGUAGES)})([-_][a-z]{{2}})?$", re.I)
_LANGUAGE_PARAMS = {"lang", "language", "locale", "hl", "l"}


def host_of(url: str) -> str:
    """The host a URL points to, lower case, with the port only when it is not the default."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    port = parts.port
    return f"{host}:{port}" if port and port != _DEFAULT_PORTS.get(parts.scheme.lower()) else host


def normalise_url(url: str) -> str:
    """One spelling per page: lower-case scheme and host, no default port, no fragment,
    no tracking parameters, sorted query, resolved ``.``/``..`` and a ``/`` for an empty path.

    Raises:
        ValueError: Not an absolute http(s) URL with a host.
    """
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {url!r}")
    path = parts.path or "/"
    if "." in path:
        trailing = path.endswith("/")
        path = posixpath.normpath(path).replace("//", "/")
        path = path + "/" if trailing and path != "/" else path
    # Re-quote so "%7E", "~" and a raw space all come out as one spelling.
    path = quote(unquote(path), safe="/:@!$&'()*+,;=-._~")
    query = sorted((k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _TRACKING.match(k))
    return urlunsplit((scheme, host_of(url), path, urlencode(query), ""))


def resolve_link(base: str, href: str) -> str | None:
    """The normalised absolute URL of a link on page ``base``; None for mailto:, javascript: etc."""
    href = href.strip()
    if not href or href.startswith("#"):
        return None
    try:
        return normalise_url(urljoin(base, href))
    except ValueError:
        return None


def is_followable(url: str) -> bool:
    """False for URLs whose extension says image, media, archive, style sheet or script."""
    return not _NOT_DOCUMENTS.search(urlsplit(url).path)


def language_neutral(url: str) -> str:
    """The URL without its language marker (``/en/…``, ``/fr-be/…``, ``?lang=de``).

    Pages whose URLs differ only in that marker are language variants of one page.
    """
    parts = urlsplit(url)
    segments = [s for s in parts.path.split("/") if not _LANGUAGE_CODE.match(s)]
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k.lower() not in _LANGUAGE_PARAMS]
    return urlunsplit((parts.scheme, parts.netloc, "/".join(segments) or "/", urlencode(query), ""))
