"""DRF's content negotiation, remembered per Accept header.

`DefaultContentNegotiation` builds the request's header map (every header, to read one) and
its query parameters (for `?format=`, even though our settings turn that off), then parses the
Accept header, on every request: 8 % of `GET /api/v1/me/` (bench/README.md). Clients send the
same few Accept headers over and over, and without `?format=` the choice depends only on that
header and the view's renderers, so it is kept per pair. DRF offers no such cache; the choice
itself is still DRF's.
"""

from collections.abc import Iterable
from typing import Any

from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request

# Accept headers are the client's to choose: past this many distinct ones, the rest are
# negotiated every time rather than remembered.
MAX_REMEMBERED = 256

_choices: dict[tuple[str | None, tuple[type[BaseRenderer], ...]], tuple[int, str]] = {}


class CachedContentNegotiation(DefaultContentNegotiation):
    def select_renderer(
        self,
        request: Request,
        renderers: Iterable[BaseRenderer],
        format_suffix: str | None = None,
    ) -> tuple[BaseRenderer, str]:
        renderers = list(renderers)
        meta: dict[str, Any] = request._request.META
        # A format suffix on the URL (`.json`) overrides Accept: negotiate as DRF does.
        if format_suffix:
            chosen: tuple[BaseRenderer, str] = super().select_renderer(
                request, renderers, format_suffix
            )
            return chosen
        key = (meta.get("HTTP_ACCEPT"), tuple(type(renderer) for renderer in renderers))
        choice = _choices.get(key)
        if choice is not None:
            index, media_type = choice
            return renderers[index], media_type
        # No choice raises NotAcceptable (406), which is not remembered.
        renderer, media_type = super().select_renderer(request, renderers, format_suffix)
        if len(_choices) < MAX_REMEMBERED:
            _choices[key] = (renderers.index(renderer), media_type)
        return renderer, media_type
