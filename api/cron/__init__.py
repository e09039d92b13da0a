"""Scheduled jobs: `@cron_job("name")` (registry.py) registers a function that
`manage.py runcron name` runs under a lock, one replica at a time (runner.py)."""
