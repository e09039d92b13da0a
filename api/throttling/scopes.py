"""Which rate-limit scopes apply to a request: the declaration contract views are written against.

- A view class sets `throttle_scope = "search"` (a scope or a tuple of scopes) for all its methods,
  and/or `throttle_scopes = {"list": "content_listing", ...}` keyed by ViewSet action, or by
  lower-case HTTP method on views that are not ViewSets.
- A function view is decorated with `@throttle_scopes("admin")`, or for some methods only with
  `@throttle_scopes("admin", methods=["POST"])`; `@rate_limit_exempt` takes any view out of
  limiting.
- `burst` and `sustained` always apply; `data_modification` applies to POST/PUT/PATCH/DELETE
  to the API unless the view's declared scopes include `auth_token` (the admin's and the CMS's
  pages take only what they declare: SPEC §1).
"""

from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from django.core.exceptions import ImproperlyConfigured

ALWAYS = ("burst", "sustained")
AUTH_SCOPE = "auth_token"
WRITE_SCOPE = "data_modification"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

View = TypeVar("View", bound=Callable[..., Any])


def throttle_scopes(*scopes: str, methods: Iterable[str] | None = None) -> Callable[[View], View]:
    """Declare the scopes of a function view: for every method, `@throttle_scopes("admin")`,
    or for `methods` only, `@throttle_scopes("admin", methods=["POST"])` (a view that takes
    only POST answers other methods a 405, which then spends no more than `burst`).

    Put it outermost (above `@api_view`, which keeps no attributes of the function it wraps).
    On a class it sets the class's `throttle_scope`; `methods` is for function views only (a
    class declares `throttle_scopes = {...}` itself, keyed by method or by ViewSet action).
    """
    if not scopes or not all(isinstance(scope, str) for scope in scopes):
        raise TypeError('throttle_scopes() takes scope names, e.g. @throttle_scopes("admin")')
    if isinstance(methods, str):
        raise TypeError('methods is a list of methods, e.g. methods=["POST"]')

    def declare(view: View) -> View:
        if methods is not None and isinstance(view, type):
            raise TypeError(
                f"throttle_scopes(..., methods=...) is for function views; declare "
                f"throttle_scopes = {{...}} on {view.__name__} instead"
            )
        if methods is None:
            view.throttle_scope = scopes  # type: ignore[attr-defined]
        else:
            view.throttle_scopes = {method.lower(): scopes for method in methods}  # type: ignore[attr-defined]
        return view

    return declare


def rate_limit_exempt(view: View) -> View:
    """Take a view out of rate limiting altogether: no scope applies, not even `burst`."""
    view.rate_limit_exempt = True  # type: ignore[attr-defined]
    return view


def view_class(view: Callable[..., Any]) -> type | None:
    # DRF's as_view() sets `cls` (its ViewSets set nothing else); Django's sets `view_class`.
    return getattr(view, "cls", None) or getattr(view, "view_class", None)


def view_name(view: Callable[..., Any]) -> str:
    """The view's class name, or the function's, for error messages."""
    return getattr(view_class(view) or view, "__qualname__", repr(view))


def declared(view: Callable[..., Any], name: str) -> Any:
    """`name` as set on the view function (by a decorator) or else on its class."""
    if hasattr(view, name):
        return getattr(view, name)
    return getattr(view_class(view), name, None)


def _as_scopes(declaration: Any, where: str) -> tuple[str, ...]:
    if declaration is None:
        return ()
    if isinstance(declaration, str):
        return (declaration,)
    if isinstance(declaration, Iterable) and not isinstance(declaration, Mapping):
        scopes = tuple(declaration)
        if all(isinstance(scope, str) for scope in scopes):
            return scopes
    raise ImproperlyConfigured(f"{where} must be a scope or a tuple of scopes, not {declaration!r}")


def _lookup_key(view: Callable[..., Any], by_key: Mapping[str, Any], method: str) -> str | None:
    """The key of `throttle_scopes` a `method` request uses: its ViewSet action, or its method."""
    # ViewSet routes map methods to actions, {"get": "list", "post": "create"}. HEAD is served
    # like GET (by DRF's ViewSets and Django's views alike), so it takes GET's entry by default.
    actions: Mapping[str, str] | None = getattr(view, "actions", None)
    if actions is not None:
        if method == "head" and "head" not in actions:
            method = "get"
        return actions.get(method)
    if method == "head" and "head" not in by_key:
        return "get"
    return method


def declared_scopes(view: Callable[..., Any], method: str) -> tuple[str, ...]:
    """The scopes `view` declares for a `method` request (without the ones always added)."""
    name = view_name(view)
    scopes = _as_scopes(declared(view, "throttle_scope"), f"throttle_scope of {name}")
    by_key = declared(view, "throttle_scopes")
    if by_key is None:
        return scopes
    if not isinstance(by_key, Mapping):
        raise ImproperlyConfigured(f"throttle_scopes of {name} must be a dict, not {by_key!r}")
    key = _lookup_key(view, by_key, method.lower())
    return scopes + _as_scopes(by_key.get(key), f"throttle_scopes[{key!r}] of {name}")


def applicable_scopes(
    view: Callable[..., Any], method: str, *, api: bool = True
) -> tuple[str, ...]:
    """Every scope that limits a `method` request to `view`, the callable its URL resolved to;
    `api`: whether the request is to the API (under /api/).

    Empty for an exempt view. Order: burst, sustained, then the declared ones, then
    data_modification for writes to the API outside its auth endpoints.
    """
    if declared(view, "rate_limit_exempt"):
        return ()
    own = declared_scopes(view, method)
    scopes = [*ALWAYS, *own]
    if api and method.upper() in WRITE_METHODS and AUTH_SCOPE not in own:
        scopes.append(WRITE_SCOPE)
    return tuple(dict.fromkeys(scopes))
