"""The suite's settings: the project's (core/settings.py, from the environment pyproject.toml
sets), plus the models that only tests use (tests/subjects) and a second database alias."""

from core.settings import *  # noqa: F403
from core.settings import DATABASES, INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "tests.subjects"]

# For code that must follow the database a save names (tests/test_multiple_databases.py): the
# same server as "default", its own test database, which only the tests that name it create.
_default = DATABASES["default"]
DATABASES = {
    **DATABASES,
    "other": {
        **_default,
        "TEST": {
            **_default.get("TEST", {}),
            # SQLite's is in memory, named after the alias.
            **({"NAME": f"test_{_default['NAME']}_other"} if "mysql" in _default["ENGINE"] else {}),
            "MIGRATE": False,
        },
    },
}
