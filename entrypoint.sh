#!/bin/sh
# Container entrypoint: in production the deploy checks, then wait for the database, migrate when
# RUN_MIGRATIONS=1, and run the command given (default: gunicorn with gunicorn.conf.py). Runs
# outside a container too, with `python` and `gunicorn` on PATH.
set -eu
cd "$(dirname "$0")"

# Each step before the command stops at once on SIGTERM or SIGINT (docker stop, a deleted pod).
# shellcheck source=deploy/steps.sh
. ./deploy/steps.sh

# 1 or 0 for switch $1 (value $2), in the words the settings' switches take (README,
# Configuration), in any case; empty is 0. Anything else stops the script, before the wait for the
# database, so that a typo fails at once.
switch() {
  case "$(printf '%s' "$2" | tr '[:upper:]' '[:lower:]')" in
    1 | true | yes | y | on | ok) echo 1 ;;
    0 | false | no | n | off | "") echo 0 ;;
    *)
      echo "entrypoint.sh: $1 must be 1/true/yes/on or 0/false/no/off, not '$2'." >&2
      exit 64
      ;;
  esac
}
migrate=$(switch RUN_MIGRATIONS "${RUN_MIGRATIONS:-0}")

# Production (DEBUG off, as the settings read it) stops here on what `check --deploy` calls an
# error, above all a security cache that each process has to itself (REDIS_URL unset, api.E003):
# gunicorn's workers would not share nonces, revocations or rate limits, and gunicorn runs no
# checks of its own. Its warnings are shown. Needs no database.
run_step python manage.py check_production >/dev/null

# Fails after DB_WAIT_TIMEOUT seconds, naming host:port/name (never the password).
run_step python manage.py wait_for_db

if [ "$migrate" -eq 1 ]; then
  # Under a MySQL named lock: replicas started together migrate once.
  run_step python manage.py migrate_locked
fi

if [ "$#" -eq 0 ]; then
  set -- gunicorn -c gunicorn.conf.py core.wsgi
fi
# exec: the command replaces this shell, so it gets the container's SIGTERM directly.
exec "$@"
