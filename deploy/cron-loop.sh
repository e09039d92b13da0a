#!/bin/sh
# The cron container of docker-compose.yml and of the single-host deploy: every registered job
# (manage.py runcron --all), then a pause, for ever. Kubernetes schedules each job with its own
# CronJob instead (deploy/k8s/base/cronjobs.yaml).
#   deploy/cron-loop.sh [SECONDS_BETWEEN_ROUNDS]   (default 3600)
# The jobs are idempotent, so an hourly round suits daily jobs as well as hourly ones. Each run
# takes the job's lock, so a second cron container would skip rather than run a job twice.
set -u
interval="${1:-3600}"

while :; do
  # A failed job is in the log (runcron exits 1); keep going, it is tried again next round.
  python manage.py runcron --all || echo "cron-loop.sh: a job failed, see above" >&2
  sleep "$interval"
done
