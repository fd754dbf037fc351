"""Client settings: `Settings.resolve()` picks each value from argument > environment > default.

    OPENAI_API_KEY     -> api_key
    OPENAI_BASE_URL    -> base_url       (default https://api.openai.com/v1)
    OPENAI_ORG_ID      -> organization   (sent as OpenAI-Organization only when set)
    OPENAI_PROJECT_ID  -> project        (sent as OpenAI-Project only when set)

`Settings.sources` says where each value came from ("argument" | "environment" | "default").

The key is stripped of surrounding whitespace (a key read with `open(keyfile).read()` keeps its newline) and
must then be printable ASCII without spaces: anything else is a ConfigError that does not contain the key.
`organization` / `project` are stripped too; a control character or a character outside Latin-1 inside one
(neither can be sent in a header) is a ConfigError naming the setting, raised when the client is built. The
key never appears in `repr()` / `str()`, and a base URL's credentials (`https://user:pass@host/v1`) are shown
as `https://***@host/v1` everywhere (`redact_url`). Credentials must be percent-encoded: a base URL with an `@`
after a raw `/`, `?` or `#` (`http://alice:pa#ss@host/v1`) is a ConfigError that does not quote it.

`deadline` bounds one call, retries and waits included; by default it is derived from `timeout` and
`max_retries` (see `batches_ext.client.retry.deadline_for`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import ConfigError

__all__ = [
    "Settings",
    "DEFAULT_BASE_URL",
    "DEFAULT_TIMEOUT",
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_MAX_RETRIES",
    "ENV_VARS",
    "redact_url",
]

DEFAULT_BASE_URL = "https://api.openai.com/v1"
DEFAULT_TIMEOUT = 60.0  # read timeout, seconds
DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_MAX_RETRIES = 2

ENV_VARS = {
    "api_key": "OPENAI_API_KEY",
    "base_url": "OPENAI_BASE_URL",
    "organization": "OPENAI_ORG_ID",
    "project": "OPENAI_PROJECT_ID",
}
_DEFAULTS: dict[str, Any] = {
    "api_key": None,
    "base_url": DEFAULT_BASE_URL,
    "organization": None,
    "project": None,
    "timeout": DEFAULT_TIMEOUT,
    "connect_timeout": DEFAULT_CONNECT_TIMEOUT,
    "max_retries": DEFAULT_MAX_RETRIES,
    "deadline": None,
}
_KEY_CHARS = re.compile(r"[\x21-\x7e]+")  # printable ASCII, no space: what an Authorization header can carry
# Everything from `//` to the last `@` of the same whitespace-free run: a password holding a raw `/`, `?` or
# `#` cannot hide its tail (a URL whose query holds an `@` is redacted up to it: too much, never too little).
_URL_CREDENTIALS = re.compile(r"\b([a-zA-Z][a-zA-Z0-9+.-]*://)\S*@")


@dataclass(frozen=True)
class Settings:
    """Resolved client settings. Build with `Settings.resolve(...)`."""

    api_key: str | None = field(default=None, repr=False)
    base_url: str = DEFAULT_BASE_URL
    organization: str | None = None
    project: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    max_retries: int = DEFAULT_MAX_RETRIES
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    deadline: float | None = None  # None: derived from timeout and max_retries by the client
    sources: Mapping[str, str] = field(default_factory=dict, compare=False)

    @classmethod
    def resolve(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Argument (a non-None override) > environment (non-empty) > default.

        Accepted overrides: api_key, base_url, organization, project, timeout, connect_timeout,
        max_retries, deadline. `env` defaults to `os.environ`. Raises ConfigError for an unknown name, a
        bad timeout / max_retries / deadline, a base URL that is not http(s), or a key with whitespace or
        other characters a header cannot carry inside it. A missing key is not an error here (see
        `require_api_key`).
        """
        unknown = set(overrides) - set(_DEFAULTS)
        if unknown:
            raise ConfigError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        environ = os.environ if env is None else env
        values: dict[str, Any] = {}
        sources: dict[str, str] = {}
        for name, default in _DEFAULTS.items():
            given = overrides.get(name)
            var = ENV_VARS.get(name)
            from_env = environ.get(var) if var else None
            if given is not None:
                values[name], sources[name] = given, "argument"
            elif from_env and from_env.strip():
                values[name], sources[name] = from_env.strip(), "environment"
            else:
                values[name], sources[name] = default, "default"
        values["api_key"] = _checked_key(values["api_key"], sources["api_key"])
        if values["api_key"] is None:
            sources["api_key"] = "default"
        values["base_url"] = _checked_base_url(values["base_url"])
        for name in ("organization", "project"):
            values[name] = _checked_header_value(values[name], name, sources[name])
        values["timeout"] = _positive(values["timeout"], "timeout")
        values["connect_timeout"] = _positive(values["connect_timeout"], "connect_timeout")
        if values["deadline"] is not None:
            values["deadline"] = _positive(values["deadline"], "deadline")
        retries = values["max_retries"]
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise ConfigError(f"max_retries must be an int >= 0, got {retries!r}")
        return cls(sources=sources, **values)

    def require_api_key(self) -> str:
        """The key, or ConfigError explaining where to put one."""
        if not self.api_key:
            raise ConfigError(
                "No API key: pass api_key=..., set OPENAI_API_KEY, or use BatchesClient.offline() for the fake."
            )
        return self.api_key

    @property
    def has_api_key(self) -> bool:
        return bool(self.api_key)

    @property
    def request_timeout(self) -> tuple[float, float]:
        """(connect, read) for requests."""
        return (min(self.connect_timeout, self.timeout), self.timeout)

    def __repr__(self) -> str:
        key = "<set>" if self.api_key else None
        return (
            f"Settings(api_key={key!r}, base_url={redact_url(self.base_url)!r}, organization={self.organization!r}, "
            f"project={self.project!r}, timeout={self.timeout!r}, max_retries={self.max_retries!r}, "
            f"deadline={self.deadline!r})"
        )

    __str__ = __repr__


def redact_url(url: str) -> str:
    """`url` (or any text holding URLs) with `user:password@` credentials replaced by `***@`: everything
    between `scheme://` and the last `@` before the next whitespace, whatever characters it holds."""
    return _URL_CREDENTIALS.sub(r"\1***@", url)


def _checked_key(value: Any, source: str) -> str | None:
    """The key stripped of surrounding whitespace (None when nothing is left); ConfigError, never showing the
    key, when what is left could not be sent in an Authorization header."""
    if value is None:
        return None
    where = "OPENAI_API_KEY" if source == "environment" else "the api_key argument"
    if not isinstance(value, str):
        raise ConfigError(f"the API key ({where}) must be a string, not {type(value).__name__}")
    key = value.strip()
    if not key:
        return None
    if not _KEY_CHARS.fullmatch(key):
        bad = next(i for i, ch in enumerate(key) if not _KEY_CHARS.fullmatch(ch))
        what = "whitespace" if key[bad].isspace() else "a character that is not printable ASCII"
        raise ConfigError(f"the API key ({where}) has {what} inside it (character {bad + 1} of {len(key)}): "
                          "check how it was copied")
    return key


def _checked_header_value(value: Any, name: str, source: str) -> str | None:
    """An organization / project id as sent in its header: stripped; a ConfigError naming the setting (not
    quoting the value) when what is left could not be sent: a line break or other control character (C0, DEL,
    C1) would split or corrupt the header, and a character outside Latin-1 (`орг-1`, U+2028) cannot be
    encoded by http.client at all (a bare UnicodeEncodeError on every call)."""
    if value is None:
        return None
    text = str(value).strip()
    where = ENV_VARS[name] if source == "environment" else f"the {name} argument"
    for i, ch in enumerate(text):
        code = ord(ch)
        if code < 32 or 127 <= code < 160:
            problem = "a line break or another control character"
        elif code > 255:
            problem = "a character an HTTP header cannot carry (not Latin-1)"
        else:
            continue
        raise ConfigError(f"{name} ({where}) has {problem} inside it (character {i + 1} of {len(text)}): "
                          f"check the {name} id")
    return text or None


def _checked_base_url(value: Any) -> str:
    """The base URL without trailing slashes; a ConfigError (never quoting credentials) when it is not
    http(s) with a host, holds whitespace, or has an `@` after its host part: credentials whose password holds
    a raw `/`, `?` or `#` (`http://alice:pa#ss@host/v1`), which every URL parser reads as host `alice` and
    the rest as path, query or fragment (and no redaction could tell where the secret ends)."""
    url = str(value).strip().rstrip("/")
    if not re.match(r"^https?://[^/?#\s]+", url, re.IGNORECASE):
        raise ConfigError(f"base_url must start with http:// or https:// and name a host, got {redact_url(url)!r}")
    if any(ch.isspace() for ch in url):
        raise ConfigError("base_url has whitespace inside it: check how it was copied")
    after_host = re.split(r"[/?#]", url.split("://", 1)[1], maxsplit=1)[1:]
    if after_host and "@" in after_host[0]:
        raise ConfigError("base_url has an '@' after a '/', '?' or '#': if it holds credentials (user:password@host), "
                          "percent-encode those characters in them ('/' as %2F, '?' as %3F, '#' as %23)")
    return url


def _positive(value: Any, name: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a number of seconds, got {value!r}") from None
    if not number > 0:
        raise ConfigError(f"{name} must be > 0, got {value!r}")
    return number
