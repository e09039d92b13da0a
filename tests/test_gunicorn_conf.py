"""gunicorn.conf.py: numbers from the environment, one JSON access line a request on stdout."""

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.live import free_port
from tests.processes import ROOT, environment

GUNICORN_VARIABLES = (
    "BIND_HOST",
    "PORT",
    "WEB_CONCURRENCY",
    "GUNICORN_THREADS",
    "GUNICORN_TIMEOUT",
    "GUNICORN_KEEPALIVE",
)
GUNICORN = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py"]


def print_config(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*GUNICORN, "--print-config", "core.wsgi"],
        cwd=ROOT,
        env=environment(None, GUNICORN_VARIABLES) | env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def resolved_config(env: dict[str, str]) -> dict[str, str]:
    result = print_config(env)
    assert result.returncode == 0, result.stderr
    lines = (line.partition("=") for line in result.stdout.splitlines())
    return {name.strip(): value.strip() for name, _, value in lines}


def refusal(env: dict[str, str]) -> str:
    """What gunicorn.conf.py says on stderr when it stops start-up over `env`."""
    result = print_config(env)
    assert result.returncode != 0
    return result.stderr


def start_gunicorn(
    port: int,
    tmp_path,
    settings: dict[str, str],
    *,
    drop: tuple[str, ...] = (),
    output: int = subprocess.PIPE,
) -> subprocess.Popen[str]:
    """gunicorn under gunicorn.conf.py on 127.0.0.1:`port`: one worker, SQLite in `tmp_path`,
    in a session of its own (stop it with os.killpg)."""
    return subprocess.Popen(
        [*GUNICORN, f"--bind=127.0.0.1:{port}", "core.wsgi"],
        cwd=ROOT,
        env=environment(
            {
                "WEB_CONCURRENCY": "1",
                "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
                **settings,
            },
            drop,
        ),
        stdout=output,
        stderr=output,
        text=True,
        start_new_session=True,
    )


def first_answer(server: subprocess.Popen[str], request: urllib.request.Request | str) -> bytes:
    """The body of `request`'s 200, sent until the starting gunicorn answers (30 s at most)."""
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(request, timeout=2) as response:
                assert response.status == 200
                body: bytes = response.read()
                return body
        except OSError:
            assert server.poll() is None, "gunicorn exited"
            assert time.monotonic() < deadline, "gunicorn did not answer in 30 s"
            time.sleep(0.2)


def test_defaults_suit_a_small_container():
    config = resolved_config({})
    assert config["bind"] == "['0.0.0.0:8000']"
    assert resolved_config({"BIND_HOST": " "})["bind"] == config["bind"]  # blank: the default
    assert config["workers"] == "2"
    assert (config["worker_class"], config["threads"]) == ("gthread", "4")
    assert config["timeout"] == "30"
    # Above a load balancer's 60 s idle timeout for its upstream connections.
    assert config["keepalive"] == "75"
    assert config["control_socket_disable"] == "True"
    assert config["secure_scheme_headers"] == "{}"


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


@pytest.mark.parametrize(
    ("host", "bind"),
    [("::", "[::]"), ("::1", "[::1]"), ("127.0.0.1", "127.0.0.1")],
)
def test_bind_host_chooses_the_address_in_the_form_gunicorn_reads(host, bind):
    config = resolved_config({"BIND_HOST": host, "PORT": "9000"})
    assert config["bind"] == f"['{bind}:9000']"


@pytest.mark.parametrize("host", ["localhost", "[::]", "0.0.0.0:80", "::/0"])
def test_a_bind_host_that_is_not_an_ip_address_stops_start_up_naming_it(host):
    message = f"BIND_HOST must be an IP address (0.0.0.0, ::), not {host!r}."
    assert message in refusal({"BIND_HOST": host})


@pytest.mark.parametrize(
    ("name", "value", "bounds"),
    [
        ("GUNICORN_THREADS", "-1", "of at least 1"),
        ("GUNICORN_THREADS", "0", "of at least 1"),
        ("GUNICORN_TIMEOUT", "2.5", "of at least 0"),
        ("GUNICORN_KEEPALIVE", "-5", "of at least 0"),
        ("PORT", "70000", "from 1 to 65535"),
        ("PORT", "\uff18\uff10", "from 1 to 65535"),  # full-width digits, which int() would take
    ],
)
def test_a_number_that_is_not_whole_or_out_of_range_stops_start_up_naming_it(name, value, bounds):
    # As the settings' own numbers do (README, Configuration).
    assert f"{name} must be a whole number {bounds}, not {value!r}." in refusal({name: value})


def test_zero_turns_the_timeouts_off_as_gunicorn_allows():
    config = resolved_config({"GUNICORN_TIMEOUT": "0", "GUNICORN_KEEPALIVE": "0"})
    assert (config["timeout"], config["keepalive"]) == ("0", "0")


def test_numbers_come_from_the_env_file_too_and_the_environment_wins(tmp_path):
    # Outside Docker a `.env` configures gunicorn as it configures the app (ENV_FILE).
    env_file = tmp_path / ".env"
    env_file.write_text("WEB_CONCURRENCY=3\nGUNICORN_THREADS=6\n")
    config = resolved_config({"ENV_FILE": str(env_file), "GUNICORN_THREADS": "7"})
    assert config["workers"] == "3"
    assert config["threads"] == "7"


def test_each_request_is_one_json_line_on_stdout(tmp_path):
    """The app writes the access line of what it answers; gunicorn only that of what it answers
    itself (here a request with two Content-Lengths, a 400): never two lines for one request."""
    port = free_port()
    server = start_gunicorn(port, tmp_path, {"LOG_FORMAT": "json"})
    try:
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/health/live/?probe=%22quoted%22",
            headers={"X-Request-ID": "probe-42", "User-Agent": 'kube-probe/1.33 "x"'},
        )
        first_answer(server, request)
        for target, headers in (
            (
                b"/api/v1/device/register/?q=1",
                b"X-Request-ID: smuggled-7\r\nUser-Agent: MyApp/2.1\r\n",
            ),
            (b"/api/v1/device/register/", b"X-Request-ID: not an id\r\n"),
        ):
            with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
                client.sendall(
                    b"POST "
                    + target
                    + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    + headers
                    + b"Content-Length: 1\r\nContent-Length: 2\r\n\r\nab"
                )
                assert client.recv(100).startswith(b"HTTP/1.1 400 ")
        # A request line gunicorn cannot read: no access line, a warning of its own.
        with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
            client.sendall(b"get /health/live/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            assert client.recv(100).startswith(b"HTTP/1.1 400 ")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        stdout, stderr = server.communicate(timeout=30)
    lines = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
    access = [line for line in lines if line["logger"] in ("api.access", "gunicorn.access")]
    assert [line["logger"] for line in access] == [
        "api.access",
        "gunicorn.access",
        "gunicorn.access",
    ], stdout
    app, refused, badly_tagged = access
    assert (app["method"], app["path"], app["status"]) == ("GET", "/health/live/", 200)
    assert app["request_id"] == "probe-42"
    assert app["user_agent"] == 'kube-probe/1.33 "x"'
    assert (refused["method"], refused["path"], refused["status"]) == (
        "POST",
        "/api/v1/device/register/",
        400,
    )
    assert refused["query"] == "q=1"
    assert refused["request_id"] == "smuggled-7"
    assert refused["user_agent"] == "MyApp/2.1"
    assert refused["duration_ms"] >= 0
    # An id that is not one is replaced, as the app replaces it (SPEC §2).
    assert re.fullmatch(r"[0-9a-f]{32}", badly_tagged["request_id"])
    # gunicorn's own messages stay on stderr, JSON as well, with the app's fields.
    messages = [json.loads(line) for line in stderr.splitlines()]

    assert {"level", "logger", "message", "request_id", "time"} <= set(messages[0])
    assert any("Booting worker" in message["message"] for message in messages)
    unreadable = [m for m in messages if "Invalid HTTP method: 'get'" in m["message"]]
    assert [(m["level"], m["logger"]) for m in unreadable] == [("WARNING", "gunicorn.error")]


@pytest.mark.parametrize(
    ("trust", "status", "location"),
    [("false", 301, "https://{host}/api/v1/me/"), ("true", 401, None)],
)
def test_x_forwarded_proto_from_loopback_counts_only_when_django_trusts_it(
    tmp_path, trust, status, location
):
    """gunicorn takes no scheme from the headers of a loopback peer (a proxy in the pod): a
    plain-HTTP request claiming HTTPS is redirected unless TRUST_X_FORWARDED_PROTO=true."""
    port = free_port()
    server = start_gunicorn(
        port,
        tmp_path,
        {"SECURE_SSL_REDIRECT": "true", "TRUST_X_FORWARDED_PROTO": trust},
        drop=GUNICORN_VARIABLES,
        output=subprocess.DEVNULL,
    )
    try:
        first_answer(server, f"http://127.0.0.1:{port}/health/live/")
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.request("GET", "/api/v1/me/", headers={"X-Forwarded-Proto": "https"})
        response = connection.getresponse()
        connection.close()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    assert response.status == status
    assert response.getheader("Location") == (
        location and location.format(host=f"127.0.0.1:{port}")
    )


def test_a_script_name_header_from_loopback_moves_no_path(tmp_path):
    """gunicorn takes SCRIPT_NAME from the headers of a loopback peer by default: a client
    behind a sidecar that passes the header could mount the app under any prefix."""
    port = free_port()
    server = start_gunicorn(port, tmp_path, {}, drop=GUNICORN_VARIABLES, output=subprocess.DEVNULL)
    statuses = []
    try:
        first_answer(server, f"http://127.0.0.1:{port}/health/live/")
        for path, prefix in (("/health/live/", "/zz"), ("/api/v1/me/", "/api")):
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            connection.request("GET", path, headers={"SCRIPT_NAME": prefix})
            statuses.append(connection.getresponse().status)
            connection.close()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    # The probe answers as ever (it was a 500), and the API's path is the API's (401 without a
    # token), not /v1/me/ under a mount point /api.
    assert statuses == [200, 401]


def test_workers_hand_the_gil_over_every_millisecond():
    port = free_port()
    server = subprocess.Popen(
        [*GUNICORN, f"--bind=127.0.0.1:{port}", "tests.wsgi_switch_interval"],
        cwd=ROOT,
        env=environment({"WEB_CONCURRENCY": "1"}, GUNICORN_VARIABLES),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    try:
        assert first_answer(server, f"http://127.0.0.1:{port}/") == b"0.001"
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
