#!/bin/sh
# Container entrypoint: wait for the database, migrate when RUN_MIGRATIONS=1, then run the
# command given (default: gunicorn with gunicorn.conf.py). Runs outside a container too, with
# `python` and `gunicorn` on PATH.
set -eu
cd "$(dirname "$0")"

# Fails after DB_WAIT_TIMEOUT seconds, naming host:port/name (never the password).
python manage.py wait_for_db

case "${RUN_MIGRATIONS:-0}" in
  1 | true | yes)
    # Under a MySQL named lock: replicas started together migrate once.
    python manage.py migrate_locked
    ;;
  0 | false | no | "") ;;
  *)
    echo "entrypoint.sh: RUN_MIGRATIONS must be 1/true or 0/false, not '${RUN_MIGRATIONS}'." >&2
    exit 64
    ;;
esac

if [ "$#" -eq 0 ]; then
  set -- gunicorn -c gunicorn.conf.py core.wsgi
fi
# exec: the command replaces this shell, so it gets the container's SIGTERM directly.
exec "$@"
