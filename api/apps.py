from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = "API"

    def ready(self) -> None:
        from api import checks  # noqa: F401  (registers the system checks)
        from api.throttling import checks as throttling_checks  # noqa: F401
