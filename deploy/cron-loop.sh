#!/bin/sh
# The cron container of docker-compose.yml and of the single-host deploy: every registered job
# (manage.py runcron --all), then a pause, for ever. Kubernetes schedules each job with its own
# CronJob instead (deploy/k8s/base/cronjobs.yaml).
#   deploy/cron-loop.sh [SECONDS_BETWEEN_ROUNDS]   (default 3600)
# The jobs are idempotent, so an hourly round suits daily jobs as well as hourly ones. Each run
# takes the job's lock, so a second cron container would skip rather than run a job twice.
#
# SIGTERM or SIGINT (docker stop) is passed on to the running job, which gives its lock back and
# exits; then so does this loop (143 or 130): each step is a run_step of deploy/steps.sh.
set -u
interval="${1:-3600}"

# A typo here ("1h", "-5") would make `sleep` fail at once, and the loop run the jobs back to
# back for ever.
case "$interval" in
  "" | *[!0-9]*) whole=0 ;;
  *) whole=1 ;;
esac
if [ "$whole" -eq 0 ] || [ "$interval" -lt 1 ]; then
  echo "cron-loop.sh: SECONDS_BETWEEN_ROUNDS must be a whole number of at least 1, not '$interval'." >&2
  exit 64
fi

# shellcheck source=deploy/steps.sh
. "$(dirname "$0")/steps.sh"

while :; do
  # A failed job is in the log (runcron exits 1); keep going, it is tried again next round.
  run_step python manage.py runcron --all || echo "cron-loop.sh: a job failed, see above" >&2
  run_step sleep "$interval"
done
