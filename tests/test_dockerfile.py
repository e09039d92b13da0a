"""The Dockerfile's collectstatic step, run here as the image build runs it (no Docker needed)."""

import re

from tests.core.test_settings import SECRETS
from tests.processes import ROOT, run_manage

DOCKERFILE = (ROOT / "Dockerfile").read_text()


def build_step_environment() -> dict[str, str]:
    """The variables the Dockerfile sets on its collectstatic RUN line."""
    step = re.search(r"^RUN (DEBUG=.*?)python manage.py collectstatic", DOCKERFILE, re.M | re.S)
    assert step is not None, "no collectstatic step in the Dockerfile"
    return dict(re.findall(r"([A-Z_]+)=(\S+)", step.group(1)))


def test_the_build_steps_throwaway_secrets_pass_the_production_checks():
    env = build_step_environment()
    assert env["DEBUG"] == "false"
    assert set(SECRETS) <= set(env)
    # The build context has no .env (.dockerignore), and no database or cache to reach.
    result = run_manage(
        "collectstatic",
        "--noinput",
        "--dry-run",
        env=env | {"ENV_FILE": ""},
        drop=("DATABASE_URL", "REDIS_URL", "ALLOWED_HOSTS"),
    )
    assert result.returncode == 0, result.stderr


def test_no_secret_is_baked_into_the_image_environment():
    # Each ENV or ARG instruction with its continuation lines.
    instructions = re.findall(r"^(?:ENV|ARG)\b(?:.*\\\n)*.*$", DOCKERFILE, re.M)
    assert any("PYTHONUNBUFFERED" in instruction for instruction in instructions)
    assert not [line for line in instructions if any(name in line for name in SECRETS)]
