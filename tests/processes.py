"""Run Python in a fresh process with its own environment: how settings are tested for real."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def environment(env: dict[str, str] | None, drop: tuple[str, ...]) -> dict[str, str]:
    """The test environment plus `env`, minus the variables in `drop`."""
    merged = {**os.environ, "DJANGO_SETTINGS_MODULE": "core.settings", **(env or {})}
    for name in drop:
        merged.pop(name, None)
    return merged


def run_python(
    code: str, env: dict[str, str] | None = None, *, drop: tuple[str, ...] = (), timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run `code` in a new interpreter, in the repository, with `environment(env, drop)`."""
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=environment(env, drop),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


DJANGO_SETUP = "import django; django.setup()\n"


def run_manage(
    *args: str, env: dict[str, str] | None = None, drop: tuple[str, ...] = (), timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run `manage.py <args>` with `environment(env, drop)`."""
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=environment(env, drop),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
