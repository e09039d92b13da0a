"""ASGI entry point, for servers such as uvicorn: `uvicorn core.asgi:application`."""

import os
from collections.abc import Mapping
from typing import IO, Any

import django
from django.core.handlers.asgi import ASGIHandler as DjangoASGIHandler
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpResponseBase

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "core.settings")


class ASGIHandler(DjangoASGIHandler):
    """Django's handler, which also says how long a body is that came without Content-Length.

    Over HTTP/2, and chunked over HTTP/1.1, a request need not declare its length. Django reads
    the whole body before the app runs, but DRF reads no body without a Content-Length: a signed
    get-token's body would be verified, then ignored, and a PATCH would change nothing. (Under
    WSGI the app never sees such a body at all; api.middleware refuses it with 411.)
    """

    def create_request(
        self, scope: Mapping[str, Any], body_file: IO[bytes]
    ) -> tuple[ASGIRequest, None] | tuple[None, HttpResponseBase]:
        created = super().create_request(scope, body_file)
        request = created[0]
        if request is not None and not request.META.get("CONTENT_LENGTH"):
            size = body_file.seek(0, os.SEEK_END)
            body_file.seek(0)
            if size:
                request.META["CONTENT_LENGTH"] = str(size)
        return created


django.setup(set_prefix=False)
application = ASGIHandler()
