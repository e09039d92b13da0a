"""System check: every routed view declares its rate-limit scopes well, with known scope names.

Without it a typo in `throttle_scope` would surface only as a 500 on the first request."""

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register
from django.core.exceptions import ImproperlyConfigured
from django.urls import URLPattern, URLResolver, get_resolver

from api.throttling.scopes import declared, declared_scopes, view_class, view_name

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
    views = list(_routed_views(get_resolver().url_patterns))
    errors.extend(_unusable_keys(views))
    for view in views:
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


def _unusable_keys(views: list[Callable[..., Any]]) -> Iterator[CheckMessage]:
    """`throttle_scopes` keys no request can look up (api.E010): "GET" for "get", an action a
    ViewSet's routes do not have. Such a scope would silently never apply."""
    usable: dict[Any, set[str]] = {}  # per view class (or function): the keys requests use
    declarations: dict[Any, tuple[str, Any]] = {}
    for view in views:
        by_key = declared(view, "throttle_scopes")
        if not isinstance(by_key, Mapping):
            continue  # none, or malformed: declared_scopes says so
        owner = view_class(view) or view
        actions = getattr(view, "actions", None)  # a ViewSet's route: {"get": "list", ...}
        keys = set(actions.values()) if actions is not None else set(METHODS)
        usable.setdefault(owner, set()).update(keys)
        declarations[owner] = (view_name(view), by_key)
    for owner, (name, by_key) in declarations.items():
        if unusable := sorted(set(by_key) - usable[owner]):
            yield Error(
                f"throttle_scopes of {name} has keys no request uses: {unusable}.",
                hint="Keys are a ViewSet's actions (list, retrieve, create, ...) or, on "
                f"other views, lower-case HTTP methods; {name} is routed with "
                f"{sorted(usable[owner])}.",
                id="api.E010",
            )
