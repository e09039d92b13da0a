"""System checks of api/checks.py: the security cache must raise on error (SPEC §3)."""

from django.core.checks import Tags, run_checks

from tests.services import LOCAL_MEMORY_CACHES, redis_caches

# Checks read settings only: nothing connects to this address.
REDIS = "redis://127.0.0.1:6379/9"


def cache_errors() -> list[str]:
    """The ids of the app's errors among the cache checks, as `manage.py check` runs them."""
    return [str(message.id) for message in run_checks(tags=[Tags.caches]) if message.is_serious()]


def test_the_configurations_settings_build_pass_the_cache_checks(settings):
    settings.CACHES = redis_caches(REDIS)
    assert cache_errors() == []
    settings.CACHES = LOCAL_MEMORY_CACHES
    assert cache_errors() == []


def test_a_security_cache_that_ignores_redis_errors_is_error_e002(settings):
    # django-redis would answer None for every nonce and revocation while Redis is down.
    caches = redis_caches(REDIS)
    security = {**caches["security"], "OPTIONS": {"IGNORE_EXCEPTIONS": True}}
    settings.CACHES = {**caches, "security": security}
    assert cache_errors() == ["api.E002"]


def test_django_redis_ignoring_errors_everywhere_is_error_e002(settings):
    settings.CACHES = redis_caches(REDIS)
    settings.DJANGO_REDIS_IGNORE_EXCEPTIONS = True
    assert cache_errors() == ["api.E002"]


def test_the_default_cache_may_ignore_errors(settings):
    # Only security state must fail loudly; the cache helpers tolerate an outage (SPEC §6).
    caches = redis_caches(REDIS)
    default = {**caches["default"], "OPTIONS": {"IGNORE_EXCEPTIONS": True}}
    settings.CACHES = {**caches, "default": default}
    assert cache_errors() == []


def deploy_cache_errors() -> list[str]:
    """The ids of the app's errors among the cache checks of `manage.py check --deploy`."""
    messages = run_checks(tags=[Tags.caches], include_deployment_checks=True)
    return [str(message.id) for message in messages if message.is_serious()]


def test_in_production_the_security_cache_is_django_redis(settings):
    settings.CACHES = redis_caches(REDIS)
    assert deploy_cache_errors() == []
    settings.CACHES = LOCAL_MEMORY_CACHES
    assert deploy_cache_errors() == ["api.E003"]
    # Django's own Redis cache shares nonces, but the limiter would count in each process.
    django_redis = {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS}
    settings.CACHES = {**redis_caches(REDIS), "security": django_redis}
    assert deploy_cache_errors() == ["api.E004"]


def deploy_security_warnings() -> list[str]:
    messages = run_checks(tags=[Tags.security], include_deployment_checks=True)
    return [str(message.id) for message in messages if str(message.id).startswith("api.")]


def test_in_production_public_docs_under_a_path_scanners_try_are_warned_of(settings):
    settings.API_DOCS_STAFF_ONLY = False
    for path in ("docs-dev", "Swagger", "documentation"):
        settings.API_DOCS_PATH = path
        assert deploy_security_warnings() == ["api.W001"]
    # An obfuscated path, staff-only docs or none at all are fine.
    settings.API_DOCS_PATH = "docs-7f3a9c1e"
    assert deploy_security_warnings() == []
    settings.API_DOCS_PATH, settings.API_DOCS_STAFF_ONLY = "docs", True
    assert deploy_security_warnings() == []
    settings.API_DOCS_PATH = ""
    assert deploy_security_warnings() == []
