"""Output serialization that builds each serializer's fields once per process, not per response.

Instantiating a DRF serializer builds its fields: deep copies of the declared ones and, for a
ModelSerializer, an introspection of the model. For an output serializer that is the same work
on every response, and it was the largest cost of `GET /api/v1/me/` (bench/README.md). A
serializer's `to_representation` only reads its fields, so one instance per class can render
every response, in every thread. This suits output serializers that need no `context` (no
request, no hyperlinks); build those per response as DRF does.
"""

from collections.abc import Iterable
from typing import Any

from rest_framework.serializers import BaseSerializer

_renderers: dict[type[BaseSerializer[Any]], BaseSerializer[Any]] = {}


def _renderer(serializer_class: type[BaseSerializer[Any]]) -> BaseSerializer[Any]:
    renderer = _renderers.get(serializer_class)
    if renderer is None:
        # Two threads may both build one at first; either serves, setdefault keeps the first.
        renderer = _renderers.setdefault(serializer_class, serializer_class())
    return renderer


def serialize(serializer_class: type[BaseSerializer[Any]], instance: Any) -> Any:
    """What `serializer_class(instance).data` is, without building the serializer again."""
    return _renderer(serializer_class).to_representation(instance)


def serialize_many(
    serializer_class: type[BaseSerializer[Any]], instances: Iterable[Any]
) -> list[Any]:
    """What `serializer_class(instances, many=True).data` is, likewise."""
    renderer = _renderer(serializer_class)
    return [renderer.to_representation(instance) for instance in instances]
