"""Tables a feature's own tests keep beside them, in tests/apis/<feature>/test_<feature>_<topic>.py,
for the template's tests that check every route or operation: they go with the feature when it
is deleted (the example's do: README, "Deleting the example")."""

from collections.abc import Iterable
from importlib import import_module
from pathlib import Path
from typing import Any

APIS = Path(__file__).resolve().parent / "apis"


def feature_tables(topic: str, name: str, features: Iterable[str] | None = None) -> list[Any]:
    """`name` of tests/apis/<feature>/test_<feature>_<topic>.py, for each feature (of `features`
    when given, else every one under tests/apis/) whose tests have that module."""
    names = sorted(features) if features is not None else sorted(p.name for p in APIS.iterdir())
    return [
        getattr(import_module(f"tests.apis.{feature}.test_{feature}_{topic}"), name)
        for feature in names
        if (APIS / feature / f"test_{feature}_{topic}.py").is_file()
    ]
