"""The suite's settings: the project's (core/settings.py, from the environment pyproject.toml
sets), plus the models that only tests use (tests/subjects)."""

from core.settings import *  # noqa: F403
from core.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "tests.subjects"]
