"""Settings come from the environment; production refuses weak secrets (SPEC §9)."""

import json
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from tests.keys import pem_pair
from tests.processes import DJANGO_SETUP, ROOT, run_manage, run_python

SECRETS = ("SECRET_KEY", "JWT_SIGNING_KEY", "APP_HMAC_KEYS", "DEVICE_SECRET_KEYS")


def env_example() -> dict[str, str]:
    values = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, value = line.partition("=")
            values[name] = value
    return values


def production_env() -> dict[str, str]:
    return {
        "DEBUG": "false",
        "ALLOWED_HOSTS": "api.example.com",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "JWT_SIGNING_KEY": secrets.token_urlsafe(40),
        "APP_HMAC_KEYS": f"ios-1:{secrets.token_urlsafe(32)},android-1:{secrets.token_urlsafe(32)}",
        "DEVICE_SECRET_KEYS": f"k2:{secrets.token_urlsafe(32)},k1:{secrets.token_urlsafe(32)}",
        "SECURE_SSL_REDIRECT": "true",
    }


def variables_read() -> set[str]:
    """Every variable the code reads: the settings, gunicorn.conf.py, entrypoint.sh and
    docker-compose.yml (which reads .env for its own variables too)."""
    settings_source = (ROOT / "core" / "settings.py").read_text()
    in_settings = set(re.findall(r'env\.\w+\(\s*"([A-Z0-9_]+)"', settings_source))
    gunicorn_source = (ROOT / "gunicorn.conf.py").read_text()
    in_gunicorn = set(re.findall(r"(?:_env_int|env\.\w+)\(\s*[\"']([A-Z0-9_]+)", gunicorn_source))
    in_entrypoint = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", (ROOT / "entrypoint.sh").read_text()))
    compose_source = (ROOT / "docker-compose.yml").read_text()
    in_compose = set(re.findall(r"(?<!\$)\$\{([A-Z][A-Z0-9_]*)", compose_source))
    # A pattern that stopped matching would silently shrink the check.
    assert {"DEBUG", "DB_WAIT_TIMEOUT"} <= in_settings
    assert {"PORT", "WEB_CONCURRENCY"} <= in_gunicorn
    assert "RUN_MIGRATIONS" in in_entrypoint
    assert "MYSQL_PASSWORD" in in_compose
    return in_settings | set(SECRETS) | in_gunicorn | in_entrypoint | in_compose


def test_env_example_lists_every_variable_with_a_comment():
    lines = (ROOT / ".env.example").read_text().splitlines()
    for index, line in enumerate(lines):
        if line and not line.startswith("#"):
            assert lines[index - 1].startswith("# "), f"no comment above {line}"
    # ENV_FILE names the file itself, so it cannot live in it: it is described in a comment.
    assert set(env_example()) == variables_read() - {"ENV_FILE"}
    assert any(line.startswith("# ENV_FILE=") for line in lines)


def test_production_with_the_example_secrets_refuses_to_start_naming_the_variable():
    result = run_manage("check", env={**env_example(), "DEBUG": "false"})
    assert result.returncode != 0
    assert "SECRET_KEY holds a development default" in result.stderr


@pytest.mark.parametrize("name", SECRETS)
def test_production_refuses_a_missing_secret(name):
    env = production_env()
    del env[name]
    result = run_manage("check", env=env, drop=(name,))
    assert result.returncode != 0
    assert f"{name} is not set" in result.stderr
    assert "copy .env.example to .env" in result.stderr  # what a newcomer should do
    assert "Traceback" not in result.stderr  # the message alone, not buried under Django's loader


@pytest.mark.parametrize("name", SECRETS)
def test_production_refuses_a_development_secret(name):
    result = run_manage("check", env=production_env() | {name: env_example()[name]})
    assert result.returncode != 0
    assert f"{name} holds a development default" in result.stderr


@pytest.mark.parametrize("name", SECRETS)
def test_production_refuses_a_short_secret(name):
    short = "x" * 31
    value = f"id:{short}" if name.endswith("_KEYS") else short
    result = run_manage("check", env=production_env() | {name: value})
    assert result.returncode != 0
    assert f"{name} must be at least 32 characters" in result.stderr


@pytest.mark.parametrize("name", SECRETS)
@pytest.mark.parametrize(
    "blank", ["", " " * 40, "\t \n" * 12], ids=["empty", "spaces", "mixed-whitespace"]
)
def test_production_refuses_a_blank_secret_as_missing(name, blank):
    result = run_manage("check", env=production_env() | {name: blank})
    assert result.returncode != 0
    assert f"{name} is not set" in result.stderr


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("SECRET_KEY", "JWT_SIGNING_KEY"),
        ("APP_HMAC_KEYS", "DEVICE_SECRET_KEYS"),
        ("SECRET_KEY", "DEVICE_SECRET_KEYS"),
        ("JWT_SIGNING_KEY", "APP_HMAC_KEYS"),
    ],
)
def test_production_refuses_one_secret_in_two_variables(first, second):
    # An app key ships inside the app: as a device master key, anyone could derive device
    # secrets with it. Spaces around it change nothing.
    shared = secrets.token_urlsafe(40)
    env = production_env()
    for name, value in ((first, f" {shared}"), (second, shared)):
        env[name] = (
            f"other:{secrets.token_urlsafe(32)},k9:{value}" if name.endswith("_KEYS") else value
        )
    result = run_manage("check", env=env)
    assert result.returncode != 0
    assert f"{first} and {second} share a secret" in result.stderr
    assert shared not in result.stdout + result.stderr


@pytest.mark.parametrize("name", ["SECRET_KEY", "JWT_SIGNING_KEY"])
def test_production_does_not_count_surrounding_whitespace_towards_the_length(name):
    padded = f"{' ' * 10}{'x' * 31}\n"
    result = run_manage("check", env=production_env() | {name: padded})
    assert result.returncode != 0
    assert f"{name} must be at least 32 characters" in result.stderr


def test_production_settings_pass_the_deploy_checks():
    # The check reads settings only: no Redis server is asked.
    env = production_env() | {"REDIS_URL": "redis://127.0.0.1:6379/0"}
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_deploy_checks_refuse_a_per_process_security_cache():
    # Nonces, revocations and limits in each worker's memory: replays pass in another worker.
    result = run_manage("check", "--deploy", env=production_env(), drop=("REDIS_URL",))
    assert result.returncode != 0
    assert "api.E003" in result.stderr


def test_debug_starts_without_any_secret_set():
    result = run_manage("check", env={"DEBUG": "true"}, drop=SECRETS)
    assert result.returncode == 0, result.stderr


def test_in_debug_an_empty_secret_is_the_development_value():
    # `SECRET_KEY=` in a .env: Django's "must not be empty" traceback, and an empty JWT key
    # failed every get-token with a 500. Empty means unset, as for every variable.
    blank = dict.fromkeys(SECRETS, "")
    code = DJANGO_SETUP + (
        "import uuid\n"
        "from django.conf import settings as s\n"
        "from api.tokens import issue_pair, decode_access\n"
        "pair = issue_pair(user_id=7, device_id=uuid.uuid4(), chain='c' * 32)\n"
        "print(decode_access(pair.access).user_id, 'insecure' in s.SECRET_KEY,"
        " list(s.APP_HMAC_KEYS), list(s.DEVICE_SECRET_KEYS))\n"
    )
    result = run_python(code, {"DEBUG": "true", "LOG_LEVEL": "CRITICAL"} | blank)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "7 True ['dev'] ['dev']"


def test_the_env_file_is_read_and_real_variables_win(tmp_path: Path):
    env_file = tmp_path / ".env"
    env_file.write_text("ADMIN_URL=from-file/\nLOG_LEVEL=LOUD\n")
    result = run_manage("check", env={"ENV_FILE": str(env_file)}, drop=("LOG_LEVEL",))
    assert result.returncode != 0
    assert "LOG_LEVEL must be" in result.stderr
    result = run_manage(
        "shell",
        "-c",
        "from django.conf import settings; print(settings.ADMIN_URL)",
        env={"ENV_FILE": str(env_file), "LOG_LEVEL": "INFO"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "from-file/"


def test_empty_database_and_redis_urls_mean_the_embedded_defaults():
    result = run_manage(
        "shell",
        "-c",
        "from django.conf import settings as s; "
        "print(s.DATABASES['default']['ENGINE'], s.CACHES['default']['BACKEND'])",
        env={"DATABASE_URL": "", "REDIS_URL": ""},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-2:] == [
        "django.db.backends.sqlite3",
        "django.core.cache.backends.locmem.LocMemCache",
    ]


def test_database_url_options_reach_the_mysql_driver_beside_the_defaults():
    # The README's way to bound a query's wait (gunicorn's timeout does not, under gthread).
    result = run_python(
        DJANGO_SETUP + "from django.conf import settings as s; "
        "import json; print(json.dumps(s.DATABASES['default']['OPTIONS']))",
        {"DATABASE_URL": "mysql://app@db.internal:3306/app?read_timeout=30&connect_timeout=2"},
    )
    assert result.returncode == 0, result.stderr
    options = json.loads(result.stdout.strip().splitlines()[-1])
    assert options["read_timeout"] == 30
    assert options["connect_timeout"] == 2  # the URL's value wins over the default's
    assert options["charset"] == "utf8mb4"
    assert options["isolation_level"] == "read committed"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("ADMIN_URL", "/admin", "ADMIN_URL must be a relative path"),
        ("ADMIN_URL", "api/admin/", "ADMIN_URL must not be under api/"),
        ("API_DOCS_PATH", "api", "API_DOCS_PATH must not be under api/"),
        ("API_DOCS_PATH", "/api/docs-7f3a9c1e/", "API_DOCS_PATH must not be under api/"),
        ("APP_HMAC_KEYS", "no-separator", 'APP_HMAC_KEYS must look like "id:secret'),
        ("APP_HMAC_KEYS", "ios app:" + "s" * 40, "APP_HMAC_KEYS: the key id 'ios app' must be"),
        # A device's row keeps its key's id in 32 characters.
        ("DEVICE_SECRET_KEYS", "k" * 33 + ":" + "s" * 40, "must be 1-32 characters"),
        ("LOG_LEVEL", "LOUD", "LOG_LEVEL must be"),
        # A repeated id: the later secret would replace the first, the active one.
        ("DEVICE_SECRET_KEYS", f"k1:{'c' * 40},k1:{'d' * 40}", "the key id 'k1' appears twice"),
        ("APP_HMAC_KEYS", f"ios:{'a' * 40},ios:{'b' * 40}", "the key id 'ios' appears twice"),
        # Numbers: whole, and none negative; a skew or a lifetime of 0 refuses every request.
        ("SIGNATURE_MAX_SKEW", "-5", "SIGNATURE_MAX_SKEW must be a whole number from 1 to 86400"),
        (
            "JWT_ACCESS_TTL",
            "0",
            "JWT_ACCESS_TTL must be a whole number from 1 to 315360000, not '0'",
        ),
        # Lifetimes past ten years: their dates overflow, at start-up or on first use.
        ("JWT_ACCESS_TTL", "9" * 14, "JWT_ACCESS_TTL must be a whole number from 1 to 315360000"),
        ("JWT_REFRESH_TTL", "9" * 14, "JWT_REFRESH_TTL must be a whole number from 1 to"),
        ("SESSION_COOKIE_AGE", "9" * 14, "SESSION_COOKIE_AGE must be a whole number from 1 to"),
        (
            "DEVICE_STALE_DAYS",
            "999999999",
            "DEVICE_STALE_DAYS must be a whole number from 1 to 3650",
        ),
        # Claims of every token: past 200 characters, tokens would pass the length allowed.
        ("JWT_ISSUER", "i" * 201, "JWT_ISSUER must be at most 200 characters"),
        ("JWT_AUDIENCE", "a" * 201, "JWT_AUDIENCE must be at most 200 characters"),
        # A day: a wider window than that keeps every nonce for days and protects nothing.
        (
            "SIGNATURE_MAX_SKEW",
            "86401",
            "SIGNATURE_MAX_SKEW must be a whole number from 1 to 86400",
        ),
        ("DB_WAIT_TIMEOUT", "1.5", "DB_WAIT_TIMEOUT must be a whole number of at least 0"),
        ("TRUSTED_PROXY_COUNT", "one", "TRUSTED_PROXY_COUNT must be a whole number"),
        # Paths the app already serves: the admin or the docs would be shadowed, or (health/)
        # served over plain HTTP, never redirected.
        ("ADMIN_URL", "health/", "ADMIN_URL must not be under health/"),
        ("ADMIN_URL", "cms/", "ADMIN_URL must not be under cms/"),
        ("ADMIN_URL", "static/admin/", "ADMIN_URL must not be under static/"),
        # Django's path() reads "<...>" as a converter.
        ("ADMIN_URL", "<slug:x>/", "ADMIN_URL must be a relative path"),
        ("ADMIN_URL", "../", "ADMIN_URL must be a relative path"),
        ("API_DOCS_PATH", "health", "API_DOCS_PATH must not be under health/"),
        ("API_DOCS_PATH", "/cms/docs/", "API_DOCS_PATH must not be under cms/"),
        ("API_DOCS_PATH", "admin", "API_DOCS_PATH and ADMIN_URL must not lie one under the other"),
        ("API_DOCS_PATH", "admin/docs", "API_DOCS_PATH and ADMIN_URL must not lie one under"),
        ("API_DOCS_PATH", "docs 2026", "API_DOCS_PATH must be a path such as docs-7f3a9c1e"),
        ("API_DOCS_PATH", "<int:x>", "API_DOCS_PATH must be a path such as docs-7f3a9c1e"),
    ],
)
def test_malformed_values_are_refused_with_a_clear_message(name, value, message):
    result = run_manage("check", env={name: value})
    assert result.returncode != 0
    assert message in result.stderr


def test_admin_and_docs_paths_of_several_segments_are_routed():
    code = DJANGO_SETUP + (
        "from django.urls import resolve\n"
        "print(resolve('/back-office/admin/login/').url_name,"
        " resolve('/docs-7f3a9c1e/v1/schema/').url_name)\n"
    )
    env = {"ADMIN_URL": "back-office/admin/", "API_DOCS_PATH": "/docs-7f3a9c1e/v1/"}
    result = run_python(code, env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-2] == "login"
    assert result.stdout.split()[-1] == "api-schema"


def test_hosts_and_origins_may_have_spaces_after_their_commas():
    # django-environ keeps the space: " b.example.com" matched no Host, every request got 400.
    code = DJANGO_SETUP + (
        "from django.conf import settings as s\n"
        "from django.test import Client\n"
        "response = Client(HTTP_HOST='b.example.com').get('/api/v1/me/')\n"
        "print(s.ALLOWED_HOSTS, s.CSRF_TRUSTED_ORIGINS, response.status_code)\n"
    )
    env = {
        "ALLOWED_HOSTS": "a.example.com, b.example.com ,",
        "CSRF_TRUSTED_ORIGINS": "https://a.example.com,  https://b.example.com",
        "LOG_LEVEL": "CRITICAL",
    }
    result = run_python(code, env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == (
        "['a.example.com', 'b.example.com'] ['https://a.example.com', 'https://b.example.com'] 401"
    )


@pytest.mark.parametrize("name", ["JWT_ISSUER", "JWT_AUDIENCE"])
def test_an_empty_issuer_or_audience_is_the_default(name):
    # An empty `aud` is a missing one to PyJWT: every token issued was refused as token_invalid.
    code = DJANGO_SETUP + (
        "import uuid\n"
        "import jwt\n"
        "from api.tokens import issue_pair, decode_access\n"
        "pair = issue_pair(user_id=7, device_id=uuid.uuid4(), chain='c' * 32)\n"
        "claims = jwt.decode(pair.access, options={'verify_signature': False})\n"
        "print(decode_access(pair.access).user_id, claims['iss'], claims['aud'])\n"
    )
    result = run_python(code, {name: "", "LOG_LEVEL": "CRITICAL"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-3:] == ["7", "django-backend-template", "mobile-app"]


@pytest.fixture(scope="module")
def key_pairs() -> dict[str, tuple[str, str]]:
    return {
        "rsa": pem_pair(rsa.generate_private_key(public_exponent=65537, key_size=2048)),
        "rsa-other": pem_pair(rsa.generate_private_key(public_exponent=65537, key_size=2048)),
        # The weak key the settings must refuse.
        "rsa-1024": pem_pair(
            rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505
        ),
        "p256": pem_pair(ec.generate_private_key(ec.SECP256R1())),
        "p384": pem_pair(ec.generate_private_key(ec.SECP384R1())),
    }


@pytest.mark.parametrize(
    ("algorithm", "signing", "verifying", "message"),
    [
        # Each started, then failed every get-token with a 500 or refused every token.
        ("RS256", "rsa", "rsa-other", "JWT_VERIFYING_KEY is not the public key of JWT_SIGNING_KEY"),
        ("RS256", "hs256-secret", "rsa", "JWT_SIGNING_KEY must be an unencrypted private key"),
        ("RS256", "rsa-public", "rsa", "JWT_SIGNING_KEY must be an unencrypted private key"),
        ("RS256", "p256", "p256", "JWT_SIGNING_KEY must be an RSA key of at least 2048 bits"),
        ("RS256", "rsa-1024", "rsa-1024", "JWT_SIGNING_KEY must be an RSA key of at least 2048"),
        ("ES256", "p384", "p384", "JWT_SIGNING_KEY must be an EC key on the P-256 curve"),
        ("ES256", "p256", "not-a-key", "JWT_VERIFYING_KEY must be a public key in PEM"),
    ],
)
def test_an_unusable_key_pair_refuses_to_start_without_showing_the_keys(
    key_pairs, algorithm, signing, verifying, message
):
    keys = {name: pair[0] for name, pair in key_pairs.items()}
    keys |= {"hs256-secret": secrets.token_urlsafe(40), "not-a-key": "not a key"}
    keys["rsa-public"] = key_pairs["rsa"][1]
    public = {name: pair[1] for name, pair in key_pairs.items()} | {"not-a-key": "not a key"}
    env = production_env() | {
        "JWT_ALGORITHM": algorithm,
        "JWT_SIGNING_KEY": keys[signing],
        "JWT_VERIFYING_KEY": public[verifying],
    }
    result = run_manage("check", env=env)
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert "BEGIN" not in result.stdout + result.stderr


@pytest.mark.parametrize("algorithm", ["RS256", "ES256"])
def test_a_matching_key_pair_passes_with_escaped_line_breaks(key_pairs, algorithm):
    # One-line values, as an env file holds them: "\n" for each line break.
    private, public = key_pairs["rsa" if algorithm == "RS256" else "p256"]
    env = production_env() | {
        "JWT_ALGORITHM": algorithm,
        "JWT_SIGNING_KEY": private.replace("\n", "\\n"),
        "JWT_VERIFYING_KEY": public.replace("\n", "\\n"),
    }
    result = run_manage("check", env=env)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    "dsn", ["sentry.example.com/1", "https://o0.ingest.sentry.io/1", "ftp://pk@sentry.example/1"]
)
def test_a_malformed_sentry_dsn_is_refused_naming_the_variable(dsn):
    result = run_manage("check", env={"SENTRY_DSN": dsn})
    assert result.returncode != 0
    assert "SENTRY_DSN is not a DSN like" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("name", "url"),
    [
        # A `/` in a password ends the host for urllib, whose error then quotes the password's
        # first part as the port that is not a number.
        ("DATABASE_URL", "mysql://app:s3cr3t/rest@db.internal:3306/app"),
        ("DATABASE_URL", "mysql://app:s3cr3t?rest@db.internal:3306/app"),
        ("DATABASE_URL", "mysql//app:s3cr3t@db.internal:3306/app"),  # no scheme
        ("DATABASE_URL", "mysql://app:s3cr3t@db.internal:99999/app"),
        ("REDIS_URL", "redis://:s3cr3t/rest@cache.internal:6379/0"),
        ("REDIS_URL", "http://:s3cr3t@cache.internal:6379/0"),
    ],
)
def test_a_malformed_url_is_refused_without_showing_its_password(name, url):
    result = run_manage("check", env={name: url})
    assert result.returncode != 0
    assert f"{name} is not a URL like" in result.stderr
    assert "Percent-encode" in result.stderr
    assert "s3cr3t" not in result.stdout + result.stderr


def test_a_percent_encoded_password_reaches_the_driver_decoded():
    result = run_python(
        DJANGO_SETUP + "from django.conf import settings as s; "
        "print(s.DATABASES['default']['PASSWORD'])",
        {"DATABASE_URL": "mysql://app:s3%2Fcr%23et%40@db.internal:3306/app"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "s3/cr#et@"


@pytest.mark.parametrize("name", ["RATE_LIMIT_ENABLED", "SECURE_SSL_REDIRECT", "DEBUG"])
@pytest.mark.parametrize("word", ["flase", "enabled", "2"])
def test_a_switch_that_says_neither_true_nor_false_refuses_to_start(name, word):
    # django-environ would read these as false: rate limiting or HTTPS hardening quietly off.
    result = run_manage("check", env=production_env() | {name: word})
    assert result.returncode != 0
    assert f"{name} must be true or false, not '{word}'" in result.stderr


def test_the_example_env_file_leaves_https_hardening_to_debug():
    # A .env made from .env.example, switched to DEBUG=false, must not keep HTTPS pinned off.
    production = production_env()
    del production["SECURE_SSL_REDIRECT"]
    code = (
        "import os; os.environ['DJANGO_SETTINGS_MODULE'] = 'core.settings'\n"
        + DJANGO_SETUP
        + "from django.conf import settings as s\n"
        + "print(s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS,"
        + " s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE)\n"
    )
    result = run_python(code, env=env_example() | production)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-5:] == ["True", "31536000", "True", "True", "True"]


def test_empty_numbers_are_their_defaults():
    # `SECURE_HSTS_SECONDS=` in an env file means "the default", as for the switches.
    code = (
        "import os; os.environ['DJANGO_SETTINGS_MODULE'] = 'core.settings'\n"
        + DJANGO_SETUP
        + "from django.conf import settings as s\n"
        + "print(s.SECURE_HSTS_SECONDS, s.SIGNATURE_MAX_SKEW, s.TRUSTED_PROXY_COUNT)\n"
    )
    empty = {"SECURE_HSTS_SECONDS": "", "SIGNATURE_MAX_SKEW": " ", "TRUSTED_PROXY_COUNT": ""}
    result = run_python(code, env=production_env() | empty)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-3:] == ["31536000", "300", "0"]


@pytest.mark.parametrize(
    ("word", "expected"),
    [("", "True"), ("  ", "True"), ("OFF", "False"), ("no", "False"), ("Yes", "True")],
)
def test_switches_read_their_words_and_empty_is_the_default(word, expected):
    code = (
        "import os; os.environ['DJANGO_SETTINGS_MODULE'] = 'core.settings'\n"
        + DJANGO_SETUP
        + "from django.conf import settings; print(settings.RATE_LIMIT_ENABLED)\n"
    )
    result = run_python(code, env=production_env() | {"RATE_LIMIT_ENABLED": word})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == expected


def test_staff_sessions_last_a_working_day_not_two_weeks():
    code = (
        "import os; os.environ['DJANGO_SETTINGS_MODULE'] = 'core.settings'\n"
        + DJANGO_SETUP
        + "from django.conf import settings; print(settings.SESSION_COOKIE_AGE)\n"
    )
    result = run_python(code, env=production_env())
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(12 * 3600)


def https_redirects(env: dict[str, str], *, drop: tuple[str, ...] = ()) -> dict[str, object]:
    """SECURE_SSL_REDIRECT in a fresh process with `env`, and what plain-HTTP requests to the
    API (with and without `X-Forwarded-Proto: https`) and to a probe get: (status, Location)."""
    code = DJANGO_SETUP + (
        "import json\n"
        "from django.conf import settings\n"
        "from django.test import Client\n"
        "client = Client(HTTP_HOST='api.example.com')\n"
        "def answer(path, **headers):\n"
        "    response = client.get(path, **headers)\n"
        "    return [response.status_code, response.get('Location')]\n"
        "print(json.dumps({\n"
        "    'setting': settings.SECURE_SSL_REDIRECT,\n"
        "    'plain': answer('/api/v1/me/'),\n"
        "    'forwarded_https': answer('/api/v1/me/', HTTP_X_FORWARDED_PROTO='https'),\n"
        "    'probe': answer('/health/live/'),\n"
        "}))\n"
    )
    result = run_python(code, env | {"LOG_LEVEL": "CRITICAL"}, drop=drop)
    assert result.returncode == 0, result.stderr
    answers: dict[str, object] = json.loads(result.stdout.strip().splitlines()[-1])
    return answers


def test_production_redirects_plain_http_to_https_when_secure_ssl_redirect_is_unset():
    env = production_env()
    del env["SECURE_SSL_REDIRECT"]
    answers = https_redirects(env, drop=("SECURE_SSL_REDIRECT",))
    assert answers["setting"] is True
    assert answers["plain"] == [301, "https://api.example.com/api/v1/me/"]
    # Probes speak plain HTTP to the pod (SPEC §5).
    assert answers["probe"] == [200, None]


def test_behind_a_trusted_proxy_x_forwarded_proto_https_is_not_redirected():
    answers = https_redirects(production_env() | {"TRUST_X_FORWARDED_PROTO": "true"})
    assert answers["forwarded_https"] == [401, None]
    assert answers["plain"] == [301, "https://api.example.com/api/v1/me/"]


@pytest.mark.parametrize("trust", ["false", ""])
def test_without_trust_x_forwarded_proto_is_ignored(trust):
    # Any client can send the header: unless a proxy overwrites it, it proves nothing.
    answers = https_redirects(production_env() | {"TRUST_X_FORWARDED_PROTO": trust})
    assert answers["forwarded_https"] == [301, "https://api.example.com/api/v1/me/"]
    assert answers["plain"] == [301, "https://api.example.com/api/v1/me/"]


def test_the_suite_has_its_own_models_and_the_processes_it_starts_do_not(settings):
    # tests/settings.py adds tests/subjects here; gunicorn, manage.py and the entrypoint, which
    # tests start with this process's environment, run the project's settings alone.
    assert "tests.subjects" in settings.INSTALLED_APPS
    code = f"{DJANGO_SETUP}from django.conf import settings\nprint(settings.INSTALLED_APPS)"
    started = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert started.returncode == 0, started.stderr
    assert "api" in started.stdout
    assert "tests.subjects" not in started.stdout
