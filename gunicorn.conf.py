"""Gunicorn settings for the Docker image: `gunicorn -c gunicorn.conf.py core.wsgi`.

Each number comes from the environment (or the project's `.env`, read as the settings read it),
with a default that suits a small container; the README's configuration table lists them.
Command-line flags and GUNICORN_CMD_ARGS still win.
"""

import ipaddress
import os
import sys
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from core.env import StrictEnv, read_env_file

# The project's `.env` (ENV_FILE), read as core/settings.py reads it, so that it also
# configures gunicorn run outside Docker. Real environment variables win.
env = StrictEnv()
read_env_file(env, Path(__file__).resolve().parent / ".env")


def _env_int(name: str, default: int, minimum: int = 1, maximum: int | None = None) -> int:
    """A whole number from the environment, read and checked as the settings read theirs."""
    try:
        return env.int(name, default, minimum=minimum, maximum=maximum)
    except ImproperlyConfigured as error:
        raise SystemExit(str(error)) from None


def _bind_host() -> str:
    """BIND_HOST as gunicorn's bind wants it: an IP address, an IPv6 one in brackets. Unset or
    empty: 0.0.0.0, every IPv4 interface of the container."""
    value = env.str("BIND_HOST", "").strip() or "0.0.0.0"  # noqa: S104
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        raise SystemExit(f"BIND_HOST must be an IP address (0.0.0.0, ::), not {value!r}.") from None
    return f"[{address}]" if address.version == 6 else str(address)


# All interfaces inside the container, on the port most platforms pass in PORT. BIND_HOST=::
# listens on IPv6 too, for an IPv6-only or dual-stack cluster (and on IPv4 through the same
# socket where the kernel allows it, Linux's default); 0.0.0.0 stays the default because `::`
# fails to bind in a container whose IPv6 is switched off.
bind = f"{_bind_host()}:{_env_int('PORT', 8000, maximum=65535)}"
# Worker processes. No formula on cpu_count(): in a container that is the host's cores, not
# the pod's CPU limit. Scale out with more pods rather than more workers.
workers = _env_int("WEB_CONCURRENCY", 2)
# Threads per worker: requests waiting on MySQL or Redis overlap instead of queueing.
worker_class = "gthread"
threads = _env_int("GUNICORN_THREADS", 4)
# A worker silent for this long (its main loop stuck, or a sync worker's one request) is killed
# and replaced. Under gthread it does not bound one request: a thread waiting on a hung query
# keeps waiting. Bound those with the driver's read_timeout (README, Configuration: MySQL).
timeout = _env_int("GUNICORN_TIMEOUT", 30, minimum=0)
# Time in-flight requests get after SIGTERM: with the pod's 5 s preStop pause, within its
# terminationGracePeriodSeconds (40, deploy/k8s/base/deployment.yaml) before SIGKILL.
graceful_timeout = 25
# Seconds an idle keep-alive connection stays open: longer than a load balancer's or ingress's
# idle timeout for its upstream connections (60 s for ingress-nginx and most cloud ones), or
# it may send a request down a connection gunicorn is closing, and answer 502.
keepalive = _env_int("GUNICORN_KEEPALIVE", 75, minimum=0)
# Replace each worker after about this many requests, so a slow leak cannot grow for ever.
max_requests = 2000
max_requests_jitter = 200
# Worker heartbeats in memory: a disk-backed /tmp can stall workers (and the image's root
# filesystem is read-only in Kubernetes).
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108
# How long a thread may hold the GIL while another waits for it: 1 ms, not Python's 5. A gthread
# worker's threads and its main loop (which accepts connections and hands them out) share one
# GIL, so a request in Python code could keep each of the others waiting 5 ms at a time. On
# 2 cores at saturation this cut p99 latency by 5-16 % at the same throughput (bench/README.md).
GIL_SWITCH_INTERVAL = 0.001


def post_fork(server: object, worker: object) -> None:
    sys.setswitchinterval(GIL_SWITCH_INTERVAL)


# No request's scheme from its headers: by default gunicorn takes X-Forwarded-Proto (and two
# others) from a loopback peer, and Django would then see a plain-HTTP request as HTTPS. Django
# decides from its own setting, on only with TRUST_X_FORWARDED_PROTO=true (core/settings.py).
secure_scheme_headers: dict[str, str] = {}
# Nor a request's SCRIPT_NAME or PATH_INFO, which gunicorn also takes from a loopback peer's
# headers: a sidecar proxy that passes headers with underscores would let any client mount the
# app under a prefix of its choosing (and answer the health probes a 500).
forwarder_headers = ""

# Nothing here uses gunicornc, and the socket would need a writable $HOME.
control_socket_disable = True

# One access line a request on stdout: the app's for what it answers (JSON with LOG_FORMAT=json),
# gunicorn's JSON one for a request it refused itself (api/gunicorn_logging.py). Errors: stderr.
accesslog = "-"
errorlog = "-"
logger_class = "api.gunicorn_logging.JsonAccessLogger"
loglevel = env.str("LOG_LEVEL", default="INFO").lower()
