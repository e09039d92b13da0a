from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = "API"

    def ready(self) -> None:
        # Registers the system checks and the signal receivers that publish auth state.
        from api import auth_state, checks  # noqa: F401
