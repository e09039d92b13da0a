"""Django settings: every value comes from the environment (and `.env`), with a safe default.

The embedded defaults need nothing installed: SQLite and the local-memory cache. Production
(DEBUG=false) refuses to start with a missing, development or short secret. Each section names
its variables; `.env.example` and the README's configuration table list them all.
"""

import logging
import os
import re
from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path
from typing import Any

import django_stubs_ext
import environ
from django.core.exceptions import ImproperlyConfigured

from core.env import StrictEnv, read_env_file

# Lets Django's generic classes be subscripted at runtime (ModelAdmin[Device]) for type checks.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent

# The longest lifetime a setting may give a token, a session or a device: dates past it are of
# no use, and far enough past it they overflow Python's datetime (year 9999).
TEN_YEARS = 10 * 365 * 24 * 3600

env = StrictEnv()
read_env_file(env, BASE_DIR / ".env")


# --- Core -------------------------------------------------------------------------------------
# DEBUG is off unless asked for: a forgotten variable never exposes debug pages.
DEBUG = env.bool("DEBUG", default=False)

# Development secrets carry this marker; production refuses any secret that does.
INSECURE_MARKER = "insecure"
MIN_SECRET_LENGTH = 32


def _dev_secret(name: str) -> str:
    return f"dev-{INSECURE_MARKER}-{name.lower()}-change-me-0123456789"


def _is_set(name: str) -> bool:
    """Whether `name` holds more than whitespace. Empty counts as unset, as for every variable
    (a `SECRET_KEY=` line in .env): the development value, which production refuses."""
    return bool(env.str(name, default="").strip())


def _secret(name: str, *, multiline: bool = False) -> str:
    """The secret `name`, or a development value that production refuses (see below)."""
    if not _is_set(name):
        return _dev_secret(name)
    return str(env.str(name, multiline=multiline))


def _key_table(name: str, *, max_id_length: int) -> dict[str, str]:
    """Parse "id:secret,id2:secret2" into an ordered {id: secret}; the first entry is active.

    An id is what clients send in X-Key-Id (app keys) or what each device's row records (device
    keys, `Device.secret_kid`), so it must fit both: letters, digits, ".", "_" and "-".
    """
    table: dict[str, str] = {}
    value = env.str(name) if _is_set(name) else f"dev:{_dev_secret(name)}"
    for entry in value.split(","):
        key_id, sep, secret = (part.strip() for part in entry.strip().partition(":"))
        if not sep or not key_id or not secret:
            raise ImproperlyConfigured(f'{name} must look like "id:secret,id2:secret2".')
        if not re.fullmatch(rf"[A-Za-z0-9._-]{{1,{max_id_length}}}", key_id):
            raise ImproperlyConfigured(
                f"{name}: the key id {key_id!r} must be 1-{max_id_length} characters of "
                "letters, digits, '.', '_' and '-'."
            )
        if key_id in table:
            # The later secret would silently replace the first, the active one (SPEC §3).
            raise ImproperlyConfigured(f"{name}: the key id {key_id!r} appears twice.")
        table[key_id] = secret
    return table


SECRET_KEY = _secret("SECRET_KEY")
# App keys only authorise device registration; they ship inside the mobile app (SPEC §3).
APP_HMAC_KEYS = _key_table("APP_HMAC_KEYS", max_id_length=128)
# Master keys that device secrets are derived from; the first one is active.
# Their ids are kept in each device's row: 32 characters at most (`Device.secret_kid`).
DEVICE_SECRET_KEYS = _key_table("DEVICE_SECRET_KEYS", max_id_length=32)
# HS256: a shared secret. RS256/ES256: a private key in PEM ("\n" for line breaks allowed).
JWT_SIGNING_KEY = _secret("JWT_SIGNING_KEY", multiline=True)


def _refuse_weak_secrets() -> None:
    """With DEBUG=false, stop the process on a missing, development or short secret."""
    secrets: dict[str, list[str]] = {
        "SECRET_KEY": [SECRET_KEY],
        "JWT_SIGNING_KEY": [JWT_SIGNING_KEY],
        "APP_HMAC_KEYS": list(APP_HMAC_KEYS.values()),
        "DEVICE_SECRET_KEYS": list(DEVICE_SECRET_KEYS.values()),
    }
    for name, values in secrets.items():
        # Surrounding whitespace adds no secrecy: a blank value counts as missing, and padding
        # does not count towards the length.
        if not _is_set(name):
            raise ImproperlyConfigured(
                f"{name} is not set; it is required when DEBUG=false. For development, copy "
                ".env.example to .env (make run does), which sets DEBUG=true."
            )
        for value in values:
            if INSECURE_MARKER in value.lower():
                raise ImproperlyConfigured(
                    f"{name} holds a development default; set a real secret when DEBUG=false."
                )
            if len(value.strip()) < MIN_SECRET_LENGTH:
                raise ImproperlyConfigured(
                    f"{name} must be at least {MIN_SECRET_LENGTH} characters when DEBUG=false."
                )
    # One secret in two roles: whoever learns it for one has the other. An app key ships inside
    # the app, so as a master key it would let anyone derive every device's secret.
    holders: dict[str, str] = {}
    for name, values in secrets.items():
        for value in values:
            holder = holders.setdefault(value.strip(), name)
            if holder != name:
                raise ImproperlyConfigured(
                    f"{holder} and {name} share a secret; give each its own when DEBUG=false."
                )


if not DEBUG:
    _refuse_weak_secrets()

ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"] if DEBUG else []
)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# Path prefixes the app serves itself; the admin and the docs must stay out of them.
TAKEN_PATHS = {
    # No session, CSRF or auth middleware there (api/cms/middleware.py).
    "api/": "the API has no sessions",
    # Never redirected to HTTPS, and every answer there is problem+json (SPEC §5).
    "health/": "the health probes' paths are never redirected to HTTPS",
    "cms/": "the staff CMS is there",
    "static/": "WhiteNoise serves the static files there",
}
# Segments of the characters a URL path carries as they are: no "<" (which Django's path()
# reads as a converter), no space, "?", "#" or "%".
URL_PATH_PATTERN = re.compile(r"((?!\.\.?/)[A-Za-z0-9._~-]+/)+")


def _refuse_taken_path(name: str, prefix: str) -> None:
    """Stop start-up when the path prefix `prefix` (read from `name`) lies where the app already
    answers: the admin or the docs would be shadowed, or served without HTTPS or sessions."""
    for taken, reason in TAKEN_PATHS.items():
        if prefix.startswith(taken):
            raise ImproperlyConfigured(f"{name} must not be under {taken}: {reason}.")


# Where the Django admin lives; an unguessable segment keeps scanners away.
ADMIN_URL = env.str("ADMIN_URL", default="admin/")
if not URL_PATH_PATTERN.fullmatch(ADMIN_URL):
    raise ImproperlyConfigured(
        'ADMIN_URL must be a relative path ending in "/", like "admin/", of letters, digits, '
        "'.', '_', '~' and '-'."
    )
_refuse_taken_path("ADMIN_URL", ADMIN_URL)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "api",
]

MIDDLEWARE = [
    # Outermost: request id, access log, and problem+json for every error under /api/ and /health/.
    "api.middleware.RequestIdMiddleware",
    "api.middleware.ProblemDetailsMiddleware",
    # Probes are answered here, before host validation and the HTTPS redirect (SPEC §5).
    "api.health.HealthCheckMiddleware",
    # Rate limits, decided in its process_view: before the CSRF check and DRF authentication.
    "api.throttling.RateLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Static files straight from gunicorn: no web server needed in the image (see STORAGES).
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Django's session, auth and message middleware, for every path but /api/: only the pages
    # people sign in to use them (api/cms/middleware.py).
    "api.cms.middleware.PagesSessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Everywhere, as `check --deploy` wants it; DRF's views are exempt.
    "django.middleware.csrf.CsrfViewMiddleware",
    "api.cms.middleware.PagesAuthenticationMiddleware",
    "api.cms.middleware.PagesMessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # A strict Content-Security-Policy on the staff CMS pages (/cms/).
    "api.cms.middleware.ContentSecurityPolicyMiddleware",
    # Innermost: a DRF response is rendered by now; its request's objects are freed at once.
    "api.middleware.ReleaseViewMiddleware",
]

ROOT_URLCONF = "core.urls"
WSGI_APPLICATION = "core.wsgi.application"
AUTH_USER_MODEL = "api.User"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# A missing slash is a 404, never a redirect that drops a POST body (SPEC §1).
APPEND_SLASH = False
CSRF_FAILURE_VIEW = "api.problems.csrf_failure"
# Django refuses request bodies above this (413 payload_too_large on the API).
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True


# --- Static files: collected at build time, served by WhiteNoise -----------------------------
# https://whitenoise.readthedocs.io/en/stable/django.html
STATIC_URL = "static/"
# Where collectstatic writes (the image runs it at build time).
STATIC_ROOT = Path(env.str("STATIC_ROOT", default="") or BASE_DIR / "staticfiles")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # collectstatic writes content-hashed, gzipped copies and a manifest, so WhiteNoise can let
    # clients cache them forever. With DEBUG=false pages need that manifest: run collectstatic
    # before serving (the Docker image does it at build time).
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}


# --- Database: DATABASE_URL, unset -> a SQLite file next to manage.py -----------------------
# https://django-environ.readthedocs.io/en/latest/types.html#environ-env-db-url
# An empty value counts as unset, as in .env.example.
DATABASE_URL = (
    env.url(
        "DATABASE_URL",
        schemes=environ.Env.DB_SCHEMES,
        example="mysql://user:password@host:3306/name",
    )
    or f"sqlite:///{BASE_DIR / 'db.sqlite3'}"
)
DATABASES = {"default": env.db_url_config(DATABASE_URL)}
DATABASES["default"].update(
    # Persistent connections, checked before reuse so a restarted server costs no request.
    CONN_MAX_AGE=env.int("DB_CONN_MAX_AGE", default=60),
    CONN_HEALTH_CHECKS=True,
)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        # Writers take the lock up front and wait for it, instead of failing with "database is
        # locked" when several dev-server threads or processes write at once.
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
elif DATABASES["default"]["ENGINE"] == "django.db.backends.mysql":
    try:
        import MySQLdb  # noqa: F401  (mysqlclient: C driver, preferred)
    except ImportError:
        # PyMySQL installs without a compiler, so a fresh machine can still talk to MySQL.
        import pymysql

        pymysql.install_as_MySQLdb()
    DATABASES["default"]["OPTIONS"] = {
        # 4-byte UTF-8 (emoji) on the wire; the tables follow the database's utf8mb4 default,
        # which `migrate` checks (api.checks).
        "charset": "utf8mb4",
        # Strict mode: MySQL errors on truncation instead of silently cutting data.
        "init_command": (
            "SET sql_mode='STRICT_TRANS_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,"
            "ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION'"
        ),
        "isolation_level": "read committed",
        "connect_timeout": 5,
        **DATABASES["default"].get("OPTIONS", {}),
    }
    DATABASES["default"]["TEST"] = {"CHARSET": "utf8mb4", "COLLATION": "utf8mb4_unicode_ci"}


# --- Start-up: what the container entrypoint (entrypoint.sh) does before the server starts ----
# Seconds `manage.py wait_for_db` waits for the database to accept connections before failing.
DB_WAIT_TIMEOUT = env.int("DB_WAIT_TIMEOUT", default=60)


# --- Cache: REDIS_URL, unset -> local memory (one process only) ------------------------------
# https://github.com/jazzband/django-redis#configure-as-cache-backend
# "default" is the general-purpose cache (use api.utils' helpers, which survive an outage).
# "security" holds nonces and token revocation state: it must raise on error so that signed
# endpoints fail closed, so never set IGNORE_EXCEPTIONS on it (api.checks refuses it).
REDIS_URL = env.url(
    "REDIS_URL", schemes=("redis", "rediss", "unix"), example="redis://:password@host:6379/0"
)
if REDIS_URL:
    _redis_cache: dict[str, Any] = {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": REDIS_URL,
        "OPTIONS": {
            # django-redis's, keeping one connection of the pool for all of a cache object's
            # commands instead of taking one for each (api/redis_client.py).
            "CLIENT_CLASS": "api.redis_client.CacheClient",
            "PARSER_CLASS": "redis.connection._HiredisParser",
            # Short timeouts: a slow cache must never hold a request for long.
            "SOCKET_CONNECT_TIMEOUT": 1.0,
            "SOCKET_TIMEOUT": 1.0,
            # And not every request: once a Redis server has not answered in time, calls to it
            # fail at once for a few seconds (api/redis_circuit_breaker.py). The rate limiter
            # sends on the security cache's connection, so has it too.
            "CONNECTION_POOL_CLASS": "api.redis_circuit_breaker.CircuitBreakerConnectionPool",
        },
    }
    CACHES = {
        "default": _redis_cache,
        "security": {**_redis_cache, "KEY_PREFIX": "sec"},
    }
else:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "security": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "security",
            # Room for every nonce of the replay window; LocMem evicts beyond this.
            "OPTIONS": {"MAX_ENTRIES": 100_000},
        },
    }


# --- Client IP --------------------------------------------------------------------------------
# Number of reverse proxies in front of the app that append to X-Forwarded-For. 0: use the
# socket address and ignore the header, which any client can forge.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)


# --- Device authentication and tokens (SPEC §3) ------------------------------------------------
# How far X-Timestamp may be from the server's clock, in seconds; nonces are kept twice as long.
SIGNATURE_MAX_SKEW = env.int("SIGNATURE_MAX_SKEW", default=300, minimum=1, maximum=24 * 3600)
# Signed endpoints refuse larger bodies (413).
SIGNED_BODY_MAX_BYTES = 64 * 1024
# HS256 with JWT_SIGNING_KEY; RS256/ES256 with JWT_SIGNING_KEY the private and
# JWT_VERIFYING_KEY the public key (PEM).
JWT_ALGORITHM = env.str("JWT_ALGORITHM", default="HS256")
JWT_VERIFYING_KEY = str(env.str("JWT_VERIFYING_KEY", default="", multiline=True))
if JWT_ALGORITHM not in ("HS256", "RS256", "ES256"):
    raise ImproperlyConfigured("JWT_ALGORITHM must be HS256, RS256 or ES256.")
if JWT_ALGORITHM != "HS256" and not JWT_VERIFYING_KEY:
    raise ImproperlyConfigured(
        f"JWT_VERIFYING_KEY (the public key) is required with {JWT_ALGORITHM}."
    )


def _refuse_unusable_key_pair(algorithm: str, signing_key: str, verifying_key: str) -> None:
    """RS256/ES256: JWT_SIGNING_KEY must be a private key of the algorithm's kind (RSA of 2048
    bits or more; EC on P-256) and JWT_VERIFYING_KEY its public key. Otherwise the process
    starts, and then every get-token fails with a 500 or every token is refused. The keys are
    never shown."""
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    try:
        private = serialization.load_pem_private_key(signing_key.encode(), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        # The public key by mistake, an HS256 secret left in place, or a passphrase-protected key.
        raise ImproperlyConfigured(
            f"JWT_SIGNING_KEY must be an unencrypted private key in PEM with {algorithm}."
        ) from None
    if algorithm == "RS256":
        usable = isinstance(private, rsa.RSAPrivateKey) and private.key_size >= 2048
        kind = "an RSA key of at least 2048 bits"
    else:
        usable = isinstance(private, ec.EllipticCurvePrivateKey) and isinstance(
            private.curve, ec.SECP256R1
        )
        kind = "an EC key on the P-256 curve"
    if not usable:
        raise ImproperlyConfigured(f"JWT_SIGNING_KEY must be {kind} with {algorithm}.")
    try:
        public = serialization.load_pem_public_key(verifying_key.encode())
    except (ValueError, UnsupportedAlgorithm):
        raise ImproperlyConfigured("JWT_VERIFYING_KEY must be a public key in PEM.") from None
    spki = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    if public.public_bytes(*spki) != private.public_key().public_bytes(*spki):
        raise ImproperlyConfigured(
            "JWT_VERIFYING_KEY is not the public key of JWT_SIGNING_KEY: every token would be "
            "refused."
        )


if JWT_ALGORITHM != "HS256":
    _refuse_unusable_key_pair(JWT_ALGORITHM, JWT_SIGNING_KEY, JWT_VERIFYING_KEY)
JWT_ACCESS_TTL = env.int("JWT_ACCESS_TTL", default=15 * 60, minimum=1, maximum=TEN_YEARS)
JWT_REFRESH_TTL = env.int("JWT_REFRESH_TTL", default=30 * 24 * 3600, minimum=1, maximum=TEN_YEARS)
# Empty counts as unset: an empty `aud` would make PyJWT refuse every token as missing one.
JWT_ISSUER = env.str("JWT_ISSUER", default="") or "django-backend-template"
JWT_AUDIENCE = env.str("JWT_AUDIENCE", default="") or "mobile-app"
# Every token carries both: much longer, and tokens would pass the length any token may have
# (api.tokens.MAX_TOKEN_LENGTH), so that every one issued would be refused.
for _name, _claim in (("JWT_ISSUER", JWT_ISSUER), ("JWT_AUDIENCE", JWT_AUDIENCE)):
    if len(_claim) > 200:
        raise ImproperlyConfigured(f"{_name} must be at most 200 characters.")
# Devices unseen (no get-token or refresh) this many days are revoked by the cron job
# deactivate_stale_devices; their apps register again.
DEVICE_STALE_DAYS = env.int("DEVICE_STALE_DAYS", default=90, minimum=1, maximum=10 * 365)

# https://django-rest-framework-simplejwt.readthedocs.io/en/latest/settings.html
SIMPLE_JWT = {
    "ALGORITHM": JWT_ALGORITHM,
    "SIGNING_KEY": JWT_SIGNING_KEY,
    "VERIFYING_KEY": JWT_VERIFYING_KEY or None,
    "ISSUER": JWT_ISSUER,
    "AUDIENCE": JWT_AUDIENCE,
    # Seconds a token's `iat` may lie ahead of this host's clock. simplejwt writes it rounded
    # down to the second and PyJWT refuses one later than its clock: a host a few milliseconds
    # behind the one that issued a token would refuse it as token_invalid, for that long after
    # each second began. Expiry stays exact: api.tokens checks `exp` again without it.
    "LEEWAY": 5,
    "ACCESS_TOKEN_LIFETIME": timedelta(seconds=JWT_ACCESS_TTL),
    "REFRESH_TOKEN_LIFETIME": timedelta(seconds=JWT_REFRESH_TTL),
    "USER_ID_CLAIM": "sub",
    "TOKEN_TYPE_CLAIM": "token_type",
    "JTI_CLAIM": "jti",
    "UPDATE_LAST_LOGIN": False,
}


# --- Rate limiting (SPEC §4; the README's "Rate limiting") ----------------------------------
# Decided per client IP (see TRUSTED_PROXY_COUNT) by api.throttling.RateLimitMiddleware, before
# authentication; views declare their scopes (`throttle_scope`), the numbers live here. DRF's own
# throttles are not used: they run after authentication and race under concurrency.
RATE_LIMIT_ENABLED = env.bool("RATE_LIMIT_ENABLED", default=True)
# "N/unit" or "N/<k><unit>": at most N requests in any sliding window of k units (N, k >= 1).
RATE_PATTERN = re.compile(
    r"(?P<quota>[1-9][0-9]*)/(?P<count>[1-9][0-9]*)?(?P<unit>s|sec|min|hour|day)"
)
RATE_UNIT_SECONDS = {"s": 1, "sec": 1, "min": 60, "hour": 3600, "day": 86400}
# Beyond these, Redis's script (Lua numbers are doubles) would count wrong or refuse to run.
MAX_RATE_QUOTA = 1_000_000_000
MAX_RATE_WINDOW = 365 * 86400


def _rates(table: dict[str, str]) -> dict[str, tuple[int, int]]:
    """Parse {scope: "N/unit"} into {scope: (N, window in seconds)}; refuse a malformed rate."""
    parsed: dict[str, tuple[int, int]] = {}
    for scope, rate in table.items():
        match = RATE_PATTERN.fullmatch(rate.strip())
        quota = int(match["quota"]) if match else 0
        window = int(match["count"] or 1) * RATE_UNIT_SECONDS[match["unit"]] if match else 0
        if not (0 < quota <= MAX_RATE_QUOTA and 0 < window <= MAX_RATE_WINDOW):
            raise ImproperlyConfigured(
                f'RATE_LIMIT_{scope.upper()}="{rate}" is not a rate: use N/s|sec|min|hour|day '
                "or N/<k><unit> with N and k at least 1, e.g. 60/min, 5/10s, 100/2hour; at "
                f"most {MAX_RATE_QUOTA:,} requests in a window of at most 365 days."
            )
        parsed[scope] = (quota, window)
    return parsed


def _refuse_unknown_rate_variables(scopes: Iterable[str]) -> None:
    """A misspelt RATE_LIMIT_<SCOPE> would leave that scope's default in force, unnoticed."""
    known = {"RATE_LIMIT_ENABLED"} | {f"RATE_LIMIT_{scope.upper()}" for scope in scopes}
    for name in sorted(os.environ):
        if name.startswith("RATE_LIMIT_") and name not in known:
            raise ImproperlyConfigured(
                f"{name} is not a setting: the rate variables are {', '.join(sorted(known))}."
            )


# Scope -> (requests, window in seconds). The scopes and their defaults are SPEC §4's.
RATE_LIMITS = _rates(
    {
        # Every endpoint but health: short floods.
        "burst": env.str("RATE_LIMIT_BURST", default="60/min"),
        # Every endpoint but health: long-running scrapers.
        "sustained": env.str("RATE_LIMIT_SUSTAINED", default="1000/hour"),
        # Device registration, get-token, refresh-token, logout.
        "auth_token": env.str("RATE_LIMIT_AUTH_TOKEN", default="5/min"),
        # POST/PUT/PATCH/DELETE outside auth (added to such requests automatically).
        "data_modification": env.str("RATE_LIMIT_DATA_MODIFICATION", default="30/min"),
        # List endpoints.
        "content_listing": env.str("RATE_LIMIT_CONTENT_LISTING", default="30/min"),
        # Search endpoints.
        "search": env.str("RATE_LIMIT_SEARCH", default="20/min"),
        # Staff operations: CMS actions, staff-only API writes.
        "admin": env.str("RATE_LIMIT_ADMIN", default="100/hour"),
    }
)
_refuse_unknown_rate_variables(RATE_LIMITS)


# --- Django REST framework --------------------------------------------------------------------
REST_FRAMEWORK = {
    # The bytes DRF's JSONRenderer writes, from orjson: 6k instead of 77k instructions for the
    # body of a `GET /me/` (tests/test_rendering.py). Two differences: U+2028 and U+2029 go out
    # as themselves (valid JSON; DRF escapes them for JavaScript pasted into HTML), and a raw
    # datetime ends in "+00:00", not "Z" (serializers render theirs: api.serialization).
    "DEFAULT_RENDERER_CLASSES": ["drf_orjson_renderer.renderers.ORJSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["api.parsers.JSONParser"],
    # DRF's negotiation, its choice remembered per Accept header (api/negotiation.py).
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "api.negotiation.CachedContentNegotiation",
    # Only Accept chooses the format: with DRF's `?format=`, a query parameter naming a format
    # the view lacks turned an existing resource into a 404.
    "URL_FORMAT_OVERRIDE": None,
    "DEFAULT_AUTHENTICATION_CLASSES": ["api.authentication.BearerAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "EXCEPTION_HANDLER": "api.problems.problem_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "api.schema.ProblemAutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "DEFAULT_PAGINATION_CLASS": "api.pagination.StandardPagination",
    # StandardPagination sets its own (20); DRF's check (W001) wants one here too.
    "PAGE_SIZE": 20,
    "DATETIME_FORMAT": "%Y-%m-%dT%H:%M:%S.%fZ",
    "COERCE_DECIMAL_TO_STRING": True,
}


# --- API docs (SPEC §7): schema, Swagger UI and ReDoc under /<API_DOCS_PATH>/ ----------------
# Unset: no docs at all (404). An unguessable segment keeps them out of scanners' way.
API_DOCS_PATH = env.str("API_DOCS_PATH", default="").strip("/")
if API_DOCS_PATH:
    _refuse_taken_path("API_DOCS_PATH", f"{API_DOCS_PATH}/")
    if not URL_PATH_PATTERN.fullmatch(f"{API_DOCS_PATH}/"):
        raise ImproperlyConfigured(
            "API_DOCS_PATH must be a path such as docs-7f3a9c1e, of letters, digits, "
            "'.', '_', '~' and '-'."
        )
    # The admin's own catch-all would answer for docs under it, and the first route wins.
    if f"{API_DOCS_PATH}/".startswith(ADMIN_URL) or ADMIN_URL.startswith(f"{API_DOCS_PATH}/"):
        raise ImproperlyConfigured("API_DOCS_PATH and ADMIN_URL must not lie one under the other.")
# true: only staff signed in (through the admin) may read them.
API_DOCS_STAFF_ONLY = env.bool("API_DOCS_STAFF_ONLY", default=False)
# https://drf-spectacular.readthedocs.io/en/latest/settings.html
SPECTACULAR_SETTINGS = {
    "TITLE": "Django Backend Template API",
    "DESCRIPTION": (
        "Device-authenticated REST API for a mobile app. Registration, get-token and "
        "refresh-token are HMAC-signed (see the README's API Authentication Flow); everything "
        "else takes `Authorization: Bearer <access token>`. Every error is RFC 9457 problem "
        "details with a stable `code`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # The health probes and the headers middleware sets: api.schema_hooks adds them.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "api.schema_hooks.health_paths",
        "api.schema_hooks.response_headers",
    ],
    # Our serializers' base classes document how they work, not a subclass's data.
    "GET_LIB_DOC_EXCLUDES": "api.schema.doc_excludes",
    # api.converters.IdConverter: a positive BIGINT up to api.converters.LARGEST_ID (written
    # out: the settings import nothing of the app's).
    "PATH_CONVERTER_OVERRIDES": {
        "id": {"type": "integer", "format": "int64", "minimum": 1, "maximum": 999999999999999999}
    },
    # Swagger UI and ReDoc from the sidecar package: served by us, no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}


# --- HTTPS hardening: on when DEBUG=false, each switchable for a plain-HTTP loopback run --------
# https://docs.djangoproject.com/en/5.2/ref/settings/#secure-ssl-redirect
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^health/"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
if env.bool("TRUST_X_FORWARDED_PROTO", default=False):
    # Only behind a TLS-terminating proxy that overwrites this header.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
# Sessions are the staff's (the CMS, the admin): a working day, not Django's two weeks, so a
# session left open or stolen does not outlive it by much.
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=12 * 3600, minimum=1, maximum=TEN_YEARS)


# --- Logging: LOG_FORMAT=json for log shippers, console for people ---------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO").upper()
if LOG_LEVEL not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
    raise ImproperlyConfigured("LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL.")
# Django's request and dev-server loggers only speak up for 5xx, and never below LOG_LEVEL.
QUIET_LEVEL = LOG_LEVEL if LOG_LEVEL == "CRITICAL" else "ERROR"
LOG_FORMAT = env.str("LOG_FORMAT", default="console")
if LOG_FORMAT not in ("json", "console"):
    raise ImproperlyConfigured('LOG_FORMAT must be "json" or "console".')

# Django's loggers of the suspicious requests anybody can send (django.security.<exception>):
# a host outside ALLOWED_HOSTS, a query string or form of too many fields, a malformed upload.
SUSPICIOUS_REQUEST_LOGGERS = [
    f"django.security.{name}"
    for name in (
        "DisallowedHost",
        "DisallowedRedirect",
        "TooManyFieldsSent",
        "TooManyFilesSent",
        "RequestDataTooBig",
        "SuspiciousMultipartForm",
        "SuspiciousOperation",
    )
]

# Python's warnings (a deprecation, a missing static files directory) as log lines too, so
# that with LOG_FORMAT=json every line a log shipper reads is JSON.
logging.captureWarnings(LOG_FORMAT == "json")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "api.logs.RequestIdFilter"},
        "suspicious_request": {"()": "api.logs.SuspiciousRequestAsWarning"},
    },
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.orjson.OrjsonFormatter",
            "format": "%(levelname)s %(name)s %(message)s %(request_id)s",
            "rename_fields": {"levelname": "level", "name": "logger"},
            "timestamp": "time",
        },
        "console": {
            "format": "%(asctime)s %(levelname)-7s [%(request_id)s] %(name)s: %(message)s",
        },
    },
    "handlers": {
        "stdout": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "filters": ["request_id"],
            "formatter": LOG_FORMAT,
        },
    },
    "root": {"handlers": ["stdout"], "level": LOG_LEVEL},
    "loggers": {
        # Django's own console and mail handlers would repeat every line: log through root.
        "django": {"handlers": [], "level": LOG_LEVEL, "propagate": True},
        # Our access line says it all; Django's own "Not Found: /x" warnings would repeat it.
        "django.request": {"level": QUIET_LEVEL},
        "django.server": {"level": QUIET_LEVEL},
        # WARNINGs without a traceback, not ERRORs (api/logs.py).
        **{name: {"filters": ["suspicious_request"]} for name in SUSPICIOUS_REQUEST_LOGGERS},
    },
}


# --- Error reports: Sentry, only when SENTRY_DSN is set ---------------------------------------
# https://docs.sentry.io/platforms/python/integrations/django/
# Unhandled exceptions and ERROR log lines are sent to Sentry. Unset or empty: the SDK is not
# even imported. No performance tracing: requests pay nothing but the error hooks.
SENTRY_DSN = env.str("SENTRY_DSN", default="")
# Tells deployments apart in Sentry, e.g. "staging"; unset: the SDK's default, "production".
SENTRY_ENVIRONMENT = env.str("SENTRY_ENVIRONMENT", default="")
if SENTRY_DSN:
    import sentry_sdk
    from sentry_sdk.integrations.django import DjangoIntegration
    from sentry_sdk.scrubber import DEFAULT_DENYLIST, EventScrubber
    from sentry_sdk.utils import BadDsn, Dsn

    try:
        Dsn(SENTRY_DSN)
    except BadDsn:
        # The SDK's own error is a traceback from inside sentry_sdk.init.
        raise ImproperlyConfigured(
            "SENTRY_DSN is not a DSN like https://<key>@o0.ingest.sentry.io/<project> (copy it "
            "from the Sentry project's Client Keys page)."
        ) from None

    sentry_sdk.init(
        dsn=SENTRY_DSN,
        integrations=[DjangoIntegration()],
        environment=SENTRY_ENVIRONMENT or None,
        # No user ids, IP addresses or cookies.
        send_default_pii=False,
        # Request bodies carry refresh tokens, and stack frames hold master keys and derived
        # device secrets under names Sentry's scrubber does not know.
        max_request_body_size="never",
        include_local_variables=False,
        # A signed request's headers would let whoever reads the event send it again (one that
        # failed never claimed its nonce). Authorization is on Sentry's own list.
        event_scrubber=EventScrubber(denylist=[*DEFAULT_DENYLIST, "x-signature"]),
    )
