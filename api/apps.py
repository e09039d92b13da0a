from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = "API"

    def ready(self) -> None:
        # Registers the system checks, the signal receivers that publish auth state, forget
        # snapshots and renew counts, and the OpenAPI extensions of our authentication classes.
        from api import auth_state_mirroring, checks, counts, schema, snapshots  # noqa: F401
        from api.throttling import checks as throttling_checks  # noqa: F401
        from api.utils import close_caches_only_if_needed, reset_queries_only_if_needed

        close_caches_only_if_needed()
        reset_queries_only_if_needed()
