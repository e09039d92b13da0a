"""The benchmark's servers: their databases, environments and gunicorn processes.

The project runs from the repository root with its production settings; the peer (and the
ceiling, a view of the peer project) runs from bench/peer/ with nothing of the project on its
path. Both under bench/gunicorn.conf.py, so with the same gunicorn settings.
"""

import argparse
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from redis import Redis

ROOT = Path(__file__).resolve().parent.parent
PEER = ROOT / "bench" / "peer"
GUNICORN_CONF = ROOT / "bench" / "gunicorn.conf.py"

# The template's default rates (SPEC §4) times this: the same windows, never reached.
RATE_SCALE = 100_000
SEED_RATES = {
    "burst": (60, "min"),
    "sustained": (1000, "hour"),
    "auth_token": (5, "min"),
    "data_modification": (30, "min"),
    "content_listing": (30, "min"),
    "search": (20, "min"),
    "admin": (100, "hour"),
}
# Units of /proc/<pid>/stat's CPU times.
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# Tokens minted before the measurements must outlive them.
TOKEN_TTL = 3 * 3600


@dataclass(frozen=True)
class Variant:
    """How gunicorn serves: sync workers, one per core, or gthread workers with threads."""

    name: str
    worker_class: str
    threads: int
    workers: int

    @property
    def connections(self) -> int:
        """wrk connections: twice what the workers serve at once, so they never idle."""
        return 2 * self.workers * self.threads


def reset_limits(redis_url: str) -> None:
    """Forget every client's rate-limit windows, the project's (`ratelimit:*`, sorted sets) and
    the peer's (DRF's `throttle_*` entries, pickled lists). Every request of a load generator
    comes from one address, so without this the windows of the hour-long sustained scope grow
    run after run, and the peer's, which DRF reads and rewrites whole on each request, cost it
    more in each run than in the one before."""
    client = Redis.from_url(redis_url)
    for pattern in ("ratelimit:*", "*throttle_*"):
        keys = list(client.scan_iter(match=pattern, count=1000))
        for start in range(0, len(keys), 1000):
            client.delete(*keys[start : start + 1000])


def variants() -> dict[str, Variant]:
    cores = os.cpu_count() or 1
    return {
        "sync": Variant("sync", "sync", 1, cores),
        "gthread": Variant("gthread", "gthread", 4, cores),
    }


@dataclass(frozen=True)
class Secrets:
    """Fresh secrets for one benchmark run (production settings refuse development ones)."""

    secret_key: str
    jwt_signing_key: str
    app_key_id: str
    app_secret: str
    device_master_key: str

    @classmethod
    def generate(cls) -> "Secrets":
        return cls(
            secrets.token_urlsafe(48),
            secrets.token_urlsafe(48),
            "bench",
            secrets.token_urlsafe(36),
            secrets.token_urlsafe(36),
        )


def add_service_options(parser: argparse.ArgumentParser, *, databases: str) -> None:
    """--database-url and --redis-url, defaulting to BENCH_DATABASE_URL and BENCH_REDIS_URL.
    `databases`: which databases next to the URL's are (re)created, for the help text."""
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", "mysql://root@127.0.0.1:3306/bench"),
        help=f"MySQL server and base name: {databases} (re)created",
    )
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15"),
        help="a Redis database the benchmark may empty (FLUSHDB)",
    )


def database_url(server_url: str, name: str) -> str:
    return urlsplit(server_url)._replace(path=f"/{name}").geturl()


def recreate_database(server_url: str, name: str) -> None:
    """Drop and create `name` (utf8mb4) on the MySQL server of `server_url`."""
    try:
        import MySQLdb as driver
    except ImportError:
        import pymysql as driver
    parts = urlsplit(server_url)
    connection = driver.connect(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 3306,
        user=unquote(parts.username or "root"),
        password=unquote(parts.password or ""),
    )
    try:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
            cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    finally:
        connection.close()


def app_environment(
    keys: Secrets, *, database: str, redis: str, static_root: Path
) -> dict[str, str]:
    """Production settings, with HTTPS hardening off for plain HTTP on loopback."""
    rates = {
        f"RATE_LIMIT_{scope.upper()}": f"{quota * RATE_SCALE}/{unit}"
        for scope, (quota, unit) in SEED_RATES.items()
    }
    return {
        **_base_environment(),
        "ENV_FILE": "",
        "DEBUG": "false",
        "SECURE_SSL_REDIRECT": "false",
        "SECURE_HSTS_SECONDS": "0",
        "SESSION_COOKIE_SECURE": "false",
        "CSRF_COOKIE_SECURE": "false",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECRET_KEY": keys.secret_key,
        "JWT_SIGNING_KEY": keys.jwt_signing_key,
        "APP_HMAC_KEYS": f"{keys.app_key_id}:{keys.app_secret}",
        "DEVICE_SECRET_KEYS": f"bench:{keys.device_master_key}",
        "JWT_ACCESS_TTL": str(TOKEN_TTL),
        "DATABASE_URL": database,
        "REDIS_URL": redis,
        "LOG_LEVEL": "INFO",
        "LOG_FORMAT": "json",
        "STATIC_ROOT": str(static_root),
        **rates,
    }


def peer_environment(
    keys: Secrets, *, database: str, redis: str, static_root: Path
) -> dict[str, str]:
    return {
        **_base_environment(),
        "DJANGO_SETTINGS_MODULE": "peer.settings",
        "SECRET_KEY": keys.secret_key,
        "JWT_SIGNING_KEY": keys.jwt_signing_key,
        "JWT_ACCESS_TTL": str(TOKEN_TTL),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_URL": database,
        "REDIS_URL": redis,
        "RATE_SCALE": str(RATE_SCALE),
        "STATIC_ROOT": str(static_root),
    }


def _base_environment() -> dict[str, str]:
    # Only what a process needs to run: no variable of the caller's shell leaks into settings.
    return {name: os.environ[name] for name in ("PATH", "HOME", "LANG") if name in os.environ}


def run_python(args: list[str], *, cwd: Path, env: dict[str, str]) -> str:
    """Run the virtualenv's Python with `args`; its stdout, or an error with its stderr."""
    result = subprocess.run(
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{result.stderr[-3000:]}")
    return result.stdout


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cpu_seconds(pids: list[int]) -> float:
    """CPU time (user + system) the processes `pids` have used so far, in seconds."""
    ticks = 0
    for pid in pids:
        # The fields after the command name, which may hold spaces: utime and stime are the
        # 14th and 15th of the line (proc(5)).
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        ticks += int(fields[11]) + int(fields[12])
    return ticks / CLOCK_TICKS


def database_pids() -> list[int]:
    """The local MariaDB or MySQL server's process, if it runs on this machine."""
    found = []
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            if comm.read_text().strip() in ("mariadbd", "mysqld"):
                found.append(int(comm.parent.name))
        except OSError:
            continue  # gone meanwhile
    return found


def wait_idle(pids: list[int], quiet: float = 0.3, timeout: float = 60.0) -> None:
    """Return once the processes `pids` have used (nearly) no CPU for `quiet` seconds: at most
    5 % of a core, for an idle gunicorn worker or database still wakes up now and then. After
    a run, a server still works through requests wrk gave up on (the peer's password logins,
    half a second of PBKDF2 each), and the database through the writes of the run or of the
    preparation of the next (thousands of refresh sessions): that must not fall on the next
    run, whoever's it is."""
    deadline = time.monotonic() + timeout
    used = cpu_seconds(pids)
    while time.monotonic() < deadline:
        time.sleep(quiet)
        now = cpu_seconds(pids)
        if now - used <= 0.05 * quiet:
            return
        used = now
    raise RuntimeError(f"processes {pids} still busy {timeout:g} s after a run")


@dataclass
class Server:
    name: str
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def worker_pids(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in children.read_text().split()]

    def worker_rss_mib(self) -> float:
        """Mean resident memory of the worker processes, in MiB."""
        sizes = []
        for pid in self.worker_pids():
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    sizes.append(int(line.split()[1]) / 1024)
        return sum(sizes) / len(sizes)

    def worker_cpu_seconds(self) -> float:
        """CPU time (user + system) the worker processes have used so far, in seconds."""
        return cpu_seconds(self.worker_pids())

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def start_server(
    name: str,
    *,
    wsgi: str,
    cwd: Path,
    env: dict[str, str],
    variant: Variant,
    log: Path,
    probe: str,
) -> Server:
    """Start gunicorn with bench/gunicorn.conf.py; wait until `probe` answers 200."""
    port = free_port()
    environment = {
        **env,
        "BENCH_BIND": f"127.0.0.1:{port}",
        "BENCH_WORKERS": str(variant.workers),
        "BENCH_WORKER_CLASS": variant.worker_class,
        "BENCH_THREADS": str(variant.threads),
    }
    command = [sys.executable, "-m", "gunicorn", "--config", str(GUNICORN_CONF), wsgi]
    with log.open("ab") as output:
        process = subprocess.Popen(
            command,
            cwd=cwd,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(name, f"http://127.0.0.1:{port}", process, log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(server.url + probe, timeout=2) as response:  # noqa: S310
                if response.status == 200 and len(server.worker_pids()) == variant.workers:
                    return server
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"{name} did not answer {probe}:\n{log.read_text()[-3000:]}")
