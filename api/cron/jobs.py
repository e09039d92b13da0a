"""The app's cron jobs. Each is a function without arguments, registered by name:

    @cron_job("purge_something")
    def purge_something() -> int:
        return Thing.objects.filter(...).delete()[0]  # logged with the run's duration

Keep the work in a service function and call it from here, so the CMS or a test can run it too.
Schedule each job where it runs (deploy/k8s/base/cronjobs.yaml, docker-compose.yml's cron).
"""

from api.cron.registry import cron_job  # noqa: F401  (for the jobs defined here)
