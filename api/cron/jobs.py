"""The app's cron jobs. Each is a function without arguments, registered by name:

    @cron_job("purge_something")
    def purge_something() -> int:
        return Thing.objects.filter(...).delete()[0]  # logged with the run's duration

Keep the work in a service function and call it from here, so the CMS or a test can run it too.
Schedule each job where it runs: a CronJob in deploy/k8s/base/cronjobs.yaml; docker-compose.yml's
cron service runs every registered job each hour (deploy/cron-loop.sh).
"""

from datetime import timedelta
from importlib import import_module

from django.conf import settings

from api.apis.auth.services import devices_revoke_stale, refresh_chains_end_expired
from api.cron.registry import cron_job


@cron_job("deactivate_stale_devices")
def deactivate_stale_devices() -> str:
    """Revoke devices unseen for DEVICE_STALE_DAYS: a lost phone's secret stops working."""
    revoked = devices_revoke_stale(unseen_for=timedelta(days=settings.DEVICE_STALE_DAYS))
    return f"{revoked} device(s) unseen for {settings.DEVICE_STALE_DAYS} days revoked"


@cron_job("purge_auth_state")
def purge_auth_state() -> str:
    """Drop authentication state that expired: refresh chains past their lifetime, and the
    expired sessions of the admin and CMS. (Nonces and cached state expire in Redis.)"""
    chains = refresh_chains_end_expired()
    import_module(settings.SESSION_ENGINE).SessionStore.clear_expired()
    return f"{chains} expired refresh chain(s) ended; expired sessions cleared"
