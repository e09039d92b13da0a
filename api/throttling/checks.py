"""System check: every routed view declares its rate-limit scopes well, with known scope names.

Without it a typo in `throttle_scope` would surface only as a 500 on the first request."""

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register
from django.core.exceptions import ImproperlyConfigured
from django.urls import URLPattern, URLResolver, get_resolver

from api.throttling.scopes import declared_scopes, view_name

METHODS = ("get", "post", "put", "patch", "delete", "head", "options")


def _routed_views(patterns: Iterable[URLPattern | URLResolver]) -> Iterator[Callable[..., Any]]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _routed_views(pattern.url_patterns)
        else:
            yield pattern.callback


@register(Tags.urls)
def check_rate_limit_declarations(
    app_configs: Iterable[AppConfig] | None, **kwargs: Any
) -> list[CheckMessage]:
    """Refuse a malformed declaration (api.E010) or an unknown scope name (api.E011)."""
    known = set(settings.RATE_LIMITS)
    errors: list[CheckMessage] = []
    for view in _routed_views(get_resolver().url_patterns):
        try:
            declared = {scope for method in METHODS for scope in declared_scopes(view, method)}
        except ImproperlyConfigured as error:
            errors.append(Error(str(error), id="api.E010"))
            continue
        if unknown := sorted(declared - known):
            errors.append(
                Error(
                    f"{view_name(view)} declares unknown rate-limit scope(s) {unknown}.",
                    hint=f"The scopes are the keys of RATE_LIMITS: {sorted(known)}.",
                    id="api.E011",
                )
            )
    return errors
