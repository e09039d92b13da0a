"""The deploy job's swap step, run by bash as GitHub Actions runs it, against a stand-in `docker`.

This machine has no Docker engine, so `docker` is a small script that keeps the containers it
was asked to run in a state file and reports an image healthy unless the test says otherwise.
What is tested is the step's own logic: which containers end up running which image.
"""

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.processes import ROOT

WORKFLOW = ROOT / ".github" / "workflows" / "django.yml"
IMAGE = "ghcr.io/example/app"
OLD = f"{IMAGE}:old"
NEW = f"{IMAGE}:new"

# Containers live in state.json as {name: image}. `run` fails for the `name=image` pairs in
# FAIL_RUN; a container never turns healthy if its image or its `name=image` is in UNHEALTHY.
FAKE_DOCKER = """\
import json, os, sys
state_file = os.environ["DOCKER_STATE"]
with open(state_file) as f:
    state = json.load(f)
args = sys.argv[1:]
with open(os.environ["DOCKER_LOG"], "a") as log:
    log.write(" ".join(args) + "\\n")
def save():
    with open(state_file, "w") as f:
        json.dump(state, f)
command = args[0]
if command == "inspect":
    name = args[-1]
    if name not in state:
        sys.exit(1)
    if args[2] == "{{.Config.Image}}":
        print(state[name])
    else:
        unhealthy = os.environ.get("UNHEALTHY", "").split()
        sick = state[name] in unhealthy or f"{name}={state[name]}" in unhealthy
        print("unhealthy" if sick else "healthy")
elif command == "run":
    name = args[args.index("--name") + 1]
    image = next(arg for arg in args if arg.startswith(os.environ["IMAGE"] + ":"))
    if name in state or f"{name}={image}" in os.environ.get("FAIL_RUN", "").split():
        sys.exit(125)
    state[name] = image
    save()
elif command in ("stop", "rm"):
    name = args[-1]
    if name not in state:
        sys.exit(1)
    del state[name]
    save()
"""


def swap_script() -> str:
    (deploy,) = (
        job
        for name, job in yaml.safe_load(WORKFLOW.read_text())["jobs"].items()
        if name == "deploy"
    )
    (step,) = (step for step in deploy["steps"] if step.get("name", "").startswith("Swap"))
    return str(step["run"])


def run_swap(tmp_path: Path, running: dict[str, str], **env: str) -> tuple[int, dict[str, str]]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, body in {
        "docker": f"#!{sys.executable}\n{FAKE_DOCKER}",
        "sleep": "#!/bin/sh\nexit 0\n",
    }.items():
        path = bin_dir / name
        path.write_text(body)
        path.chmod(path.stat().st_mode | stat.S_IXUSR)
    state = tmp_path / "state.json"
    state.write_text(json.dumps(running))
    script = tmp_path / "step.sh"
    script.write_text(swap_script())
    result = subprocess.run(
        # The shell GitHub Actions runs a `run:` step with on Linux.
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
        env={
            "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
            "IMAGE": IMAGE,
            "GITHUB_SHA": "new",
            "ENV_FILE": "/dev/null",
            "DOCKER_STATE": str(state),
            "DOCKER_LOG": str(tmp_path / "docker.log"),
            **env,
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    return result.returncode, json.loads(state.read_text())


SERVING_OLD = {"django-backend-web": OLD, "django-backend-cron": OLD}
SERVING_NEW = {"django-backend-web": NEW, "django-backend-cron": NEW}


def test_a_healthy_image_replaces_web_and_cron(tmp_path):
    assert run_swap(tmp_path, SERVING_OLD) == (0, SERVING_NEW)


def test_an_image_that_never_turns_healthy_on_trial_leaves_the_old_containers(tmp_path):
    assert run_swap(tmp_path, SERVING_OLD, UNHEALTHY=NEW) == (1, SERVING_OLD)


@pytest.mark.parametrize(
    "failure",
    [
        {"UNHEALTHY": f"django-backend-web={NEW}"},
        {"FAIL_RUN": f"django-backend-web={NEW}"},
        {"FAIL_RUN": f"django-backend-cron={NEW}"},
    ],
    ids=["healthy-on-trial-only", "web-does-not-start", "cron-does-not-start"],
)
def test_a_failed_swap_brings_back_the_previous_image(tmp_path, failure):
    assert run_swap(tmp_path, SERVING_OLD, **failure) == (1, SERVING_OLD)
