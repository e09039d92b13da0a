"""The environment, read strictly: core/settings.py and gunicorn.conf.py both read their
variables through `StrictEnv`, so a value is accepted, or refused naming its variable, the same
way wherever it is read. No Django settings here: gunicorn's master imports it before any app."""

import re
from collections.abc import Collection
from pathlib import Path
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured

# The words django-environ reads as true, and their opposites.
BOOLEAN_WORDS = dict.fromkeys(("true", "yes", "y", "on", "ok", "1"), True)
BOOLEAN_WORDS |= dict.fromkeys(("false", "no", "n", "off", "0"), False)


class StrictEnv(environ.Env):  # type: ignore[misc]
    """django-environ's Env, but a boolean must say true or false: its own `bool` reads any
    other word ("flase", "enabled") as false, which would quietly turn rate limiting or HTTPS
    hardening off. Unset or empty: the default."""

    def bool(self, var: str, default: object = environ.Env.NOTSET) -> bool:
        word = self.str(var, default="").strip().lower()
        if not word and default is not environ.Env.NOTSET:
            return bool(default)
        if word not in BOOLEAN_WORDS:
            raise ImproperlyConfigured(f"{var} must be true or false, not {word!r}.")
        return BOOLEAN_WORDS[word]

    def int(
        self,
        var: str,
        default: object = environ.Env.NOTSET,
        *,
        minimum: int = 0,
        maximum: int | None = None,
    ) -> int:
        """A whole number of at least `minimum` (durations, counts: none is negative) and at
        most `maximum`. Unset or empty: the default; anything else stops start-up naming the
        variable, where django-environ would fail with a bare ValueError, take a negative skew
        that refuses every signed request, or a lifetime whose date overflows on first use."""
        word = self.str(var, default="").strip()
        if not word and default is not environ.Env.NOTSET:
            return int(str(default))
        number = int(word) if re.fullmatch(r"[+-]?[0-9]+", word) else None
        if number is None or number < minimum or (maximum is not None and number > maximum):
            bounds = f"of at least {minimum}" if maximum is None else f"from {minimum} to {maximum}"
            raise ImproperlyConfigured(f"{var} must be a whole number {bounds}, not {word!r}.")
        return number

    def list(self, var: str, default: object = environ.Env.NOTSET) -> list[str]:
        """Comma-separated words, each stripped of surrounding spaces, empty ones dropped:
        django-environ keeps the space of "a.example.com, b.example.com", and a host or origin
        that starts with one never matches (every request to it is refused)."""
        words: list[str] = super().list(var, default=default)
        return [word.strip() for word in words if word.strip()]

    def url(self, var: str, *, schemes: Collection[str], example: str) -> str:
        """A URL with one of `schemes`, or "" when unset or empty. Anything else stops start-up
        naming the variable but not its value, which may hold a password: urllib's own error
        quotes part of it (a `/` in a password reads as the end of the host, the rest of the
        password as a port that is not a number)."""
        value: str = self.str(var, default="")
        if not value:
            return ""
        try:
            parts = urlsplit(value)
            valid = parts.scheme in schemes and (parts.port is None or parts.port > 0)
        except ValueError:
            valid = False
        if not valid:
            raise ImproperlyConfigured(
                f"{var} is not a URL like {example} "
                "(its value is not shown: it may hold a password). Percent-encode any / ? # @ : "
                "in the user and the password, as %2F %3F %23 %40 %3A."
            )
        return value


def read_env_file(env: StrictEnv, default: Path) -> None:
    """Read ENV_FILE (`default` when unset) into the environment; real environment variables
    win over the file. ENV_FILE="" reads no file (the tests do this)."""
    path = env.str("ENV_FILE", default=str(default))
    if path and Path(path).is_file():
        env.read_env(path)
