#!/bin/sh
# Sourced by entrypoint.sh and deploy/cron-loop.sh: `run_step CMD...` runs a step that a SIGTERM
# or SIGINT stops at once.
#
# A shell runs no trap while a foreground child runs: as PID 1 it would ignore the signal until
# the grace period's SIGKILL, elsewhere it would die alone and leave the step running. So each
# step runs in the background while the shell waits, which a signal interrupts. The step gets
# TERM (a background job ignores INT), and the shell exits as the signal would have ended it:
# 128 + its number. A second signal while the step winds down changes nothing.
step_pid=""

stop_step() {
  trap '' TERM INT
  if [ -n "$step_pid" ]; then
    kill -s TERM "$step_pid" 2>/dev/null || true
    wait "$step_pid" || true
  fi
  exit "$1"
}
trap 'stop_step 143' TERM
trap 'stop_step 130' INT

# Runs "$@" in the background and waits for it; returns its exit status (so under `set -e` a
# failed step ends the script with it).
run_step() {
  "$@" &
  step_pid=$!
  wait "$step_pid" && status=0 || status=$?
  step_pid=""
  return "$status"
}
