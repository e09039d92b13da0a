#!/bin/sh
# The cron container of docker-compose.yml and of the single-host deploy: every registered job
# (manage.py runcron --all), then a pause, for ever. Kubernetes schedules each job with its own
# CronJob instead (deploy/k8s/base/cronjobs.yaml).
#   deploy/cron-loop.sh [SECONDS_BETWEEN_ROUNDS]   (default 3600)
# The jobs are idempotent, so an hourly round suits daily jobs as well as hourly ones. Each run
# takes the job's lock, so a second cron container would skip rather than run a job twice.
#
# SIGTERM or SIGINT (docker stop) is passed on to the running job, which gives its lock back and
# exits; then so does this loop (143 or 130). A shell runs no trap while a foreground child
# runs, and without one it would die alone, leaving the job running until the SIGKILL: so each
# step runs in the background while the shell waits, which a signal interrupts.
set -u
interval="${1:-3600}"
child=""

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

# The job gets SIGTERM either way: a background child of a script ignores SIGINT. A second
# signal while the job winds down changes nothing: stopping is under way.
stop() {
  trap '' TERM INT
  if [ -n "$child" ]; then
    kill -s TERM "$child" 2>/dev/null
    wait "$child"
  fi
  exit "$1"
}
trap 'stop 143' TERM
trap 'stop 130' INT

# Runs "$@" in the background and waits for it; its exit status.
step() {
  "$@" &
  child=$!
  wait "$child"
  status=$?
  child=""
  return "$status"
}

while :; do
  # A failed job is in the log (runcron exits 1); keep going, it is tried again next round.
  step python manage.py runcron --all || echo "cron-loop.sh: a job failed, see above" >&2
  step sleep "$interval"
done
