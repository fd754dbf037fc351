"""Client settings: `Settings.resolve()` picks each value from argument > environment > default.

    OPENAI_API_KEY     -> api_key
    OPENAI_BASE_URL    -> base_url       (default https://api.openai.com/v1)
    OPENAI_ORG_ID      -> organization   (sent as OpenAI-Organization only when set)
    OPENAI_PROJECT_ID  -> project        (sent as OpenAI-Project only when set)

`Settings.sources` says where each value came from ("argument" | "environment" | "default").
The API key never appears in `repr()` / `str()`.
"""

from __future__ import annotations

import os
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
}


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
    sources: Mapping[str, str] = field(default_factory=dict, compare=False)

    @classmethod
    def resolve(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Argument (a non-None override) > environment (non-empty) > default.

        Accepted overrides: api_key, base_url, organization, project, timeout, connect_timeout,
        max_retries. `env` defaults to `os.environ`. Raises ConfigError for an unknown name or a
        bad timeout / max_retries. A missing key is not an error here (see `require_api_key`).
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
        values["base_url"] = str(values["base_url"]).rstrip("/")
        values["timeout"] = _positive(values["timeout"], "timeout")
        values["connect_timeout"] = _positive(values["connect_timeout"], "connect_timeout")
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
            f"Settings(api_key={key!r}, base_url={self.base_url!r}, organization={self.organization!r}, "
            f"project={self.project!r}, timeout={self.timeout!r}, max_retries={self.max_retries!r})"
        )

    __str__ = __repr__


def _positive(value: Any, name: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a number of seconds, got {value!r}") from None
    if not number > 0:
        raise ConfigError(f"{name} must be > 0, got {value!r}")
    return number
