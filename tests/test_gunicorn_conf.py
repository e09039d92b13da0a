"""gunicorn.conf.py: numbers from the environment, JSON access lines on stdout."""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

from tests.live import free_port
from tests.processes import ROOT, environment

GUNICORN_VARIABLES = (
    "PORT",
    "WEB_CONCURRENCY",
    "GUNICORN_THREADS",
    "GUNICORN_TIMEOUT",
    "GUNICORN_KEEPALIVE",
)
GUNICORN = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py"]


def resolved_config(env: dict[str, str]) -> dict[str, str]:
    result = subprocess.run(
        [*GUNICORN, "--print-config", "core.wsgi"],
        cwd=ROOT,
        env=environment(None, GUNICORN_VARIABLES) | env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = (line.partition("=") for line in result.stdout.splitlines())
    return {name.strip(): value.strip() for name, _, value in lines}


def test_defaults_suit_a_small_container():
    config = resolved_config({})
    assert config["bind"] == "['0.0.0.0:8000']"
    assert config["workers"] == "2"
    assert (config["worker_class"], config["threads"]) == ("gthread", "4")
    assert config["timeout"] == "30"
    # Above a load balancer's 60 s idle timeout for its upstream connections.
    assert config["keepalive"] == "75"
    assert config["control_socket_disable"] == "True"


def test_numbers_come_from_the_environment():
    config = resolved_config(
        {
            "PORT": "9000",
            "WEB_CONCURRENCY": "5",
            "GUNICORN_THREADS": "8",
            "GUNICORN_TIMEOUT": "90",
            "GUNICORN_KEEPALIVE": "120",
        }
    )
    assert config["bind"] == "['0.0.0.0:9000']"
    assert (config["workers"], config["threads"], config["timeout"]) == ("5", "8", "90")
    assert config["keepalive"] == "120"


def test_numbers_come_from_the_env_file_too_and_the_environment_wins(tmp_path):
    # Outside Docker a `.env` configures gunicorn as it configures the app (ENV_FILE).
    env_file = tmp_path / ".env"
    env_file.write_text("WEB_CONCURRENCY=3\nGUNICORN_THREADS=6\n")
    config = resolved_config({"ENV_FILE": str(env_file), "GUNICORN_THREADS": "7"})
    assert config["workers"] == "3"
    assert config["threads"] == "7"


def test_each_request_is_one_json_line_on_stdout(tmp_path):
    port = free_port()
    server = subprocess.Popen(
        [*GUNICORN, f"--bind=127.0.0.1:{port}", "core.wsgi"],
        cwd=ROOT,
        env=environment(
            {"WEB_CONCURRENCY": "1", "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}, ()
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/health/live/?probe=%22quoted%22",
            headers={"X-Request-ID": "probe-42", "User-Agent": 'kube-probe/1.33 "x"'},
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(request, timeout=2) as response:
                    assert response.status == 200
                    break
            except OSError:
                assert server.poll() is None, "gunicorn exited"
                assert time.monotonic() < deadline, "gunicorn did not answer in 30 s"
                time.sleep(0.2)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        stdout, stderr = server.communicate(timeout=30)
    access = [
        json.loads(line)
        for line in stdout.splitlines()
        if line.startswith("{") and '"gunicorn.access"' in line
    ]
    assert len(access) == 1, stdout + stderr
    line = access[0]
    assert line["logger"] == "gunicorn.access"
    assert (line["method"], line["path"], line["status"]) == ("GET", "/health/live/", 200)
    assert line["query"] == "probe=%22quoted%22"
    assert line["user_agent"] == 'kube-probe/1.33 "x"'
    assert line["request_id"] == "probe-42"
    assert line["bytes"] == len(b'{"status": "ok"}')
    assert line["duration_ms"] >= 0
    assert "Booting worker" in stderr  # gunicorn's own messages stay on stderr
