# syntax=docker/dockerfile:1
# The production image: gunicorn behind entrypoint.sh, static files collected at build time.
#   docker build -t django-backend-template .
# Needs DATABASE_URL (MySQL) and the secrets at run time; see docker-compose.yml and the README.

# One base for both stages, so that the runtime's libmariadb3 is the one mysqlclient was built
# against. The Debian release is named so that its package names hold.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- builder: compiles mysqlclient into a virtualenv -----------------------------------------
FROM ${PYTHON_IMAGE} AS builder
# Debian's current security release of each package; pinning versions here would break the
# build at every point release.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc libc6-dev libmariadb-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
COPY requirements.txt requirements-mysql.txt /tmp/
RUN /opt/venv/bin/pip install -r /tmp/requirements-mysql.txt

# --- runtime: no compiler, a non-root user, code it cannot change -----------------------------
FROM ${PYTHON_IMAGE} AS runtime
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends libmariadb3 tini \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin app
ENV PATH="/opt/venv/bin:$PATH" \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PORT=8000
COPY --from=builder /opt/venv /opt/venv
WORKDIR /app
# Owned by root: the app user can read the code but not rewrite it.
COPY . .
# collectstatic loads the production settings, which refuse to start without secrets. These
# throwaway values pass those checks; they exist in this one RUN only, never in the image's
# environment, and sign nothing. The chmod: the code is readable by the app user (as "other")
# whatever the umask of the checkout it was built from.
RUN DEBUG=false \
    SECRET_KEY=collectstatic-only-throwaway-value-0000000000 \
    JWT_SIGNING_KEY=collectstatic-only-throwaway-jwt-value-00000000 \
    APP_HMAC_KEYS=build:collectstatic-only-throwaway-app-value-000000000 \
    DEVICE_SECRET_KEYS=build:collectstatic-only-throwaway-device-value-000000 \
    python manage.py collectstatic --noinput --verbosity 0 \
    && python -m compileall -q api core \
    && chmod -R a+rX /app

# A numeric user, so that Kubernetes' runAsNonRoot can check it.
USER 10001:10001
EXPOSE 8000
# /health/live/ touches nothing: a database outage must not get the container restarted.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('PORT', '8000') + '/health/live/', timeout=4)"]
# In production runs the deploy checks, waits for the database, migrates when RUN_MIGRATIONS=1,
# then runs the command: gunicorn with gunicorn.conf.py when none is given (so there is no CMD
# here). tini is PID 1 and passes signals on to the command: as PID 1 a process that sets no
# handler of its own (the shell, manage.py migrate_locked) would ignore SIGTERM until the grace
# period's SIGKILL. The cron loop passes it on to its job (deploy/cron-loop.sh).
ENTRYPOINT ["/usr/bin/tini", "--", "/app/entrypoint.sh"]
