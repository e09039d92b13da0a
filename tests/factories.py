"""factory_boy factories for the project's models (tests/subjects/ has its own)."""

from factory import LazyAttribute, Sequence, SubFactory
from factory.django import DjangoModelFactory

from api.models import Device, User


class UserFactory(DjangoModelFactory[User]):  # type: ignore[misc]
    class Meta:
        model = User

    username = Sequence(lambda n: f"user{n}")
    email = LazyAttribute(lambda user: f"{user.username}@example.com")


class DeviceFactory(DjangoModelFactory[Device]):  # type: ignore[misc]
    class Meta:
        model = Device

    user = SubFactory(UserFactory)
    platform = Device.Platform.IOS
    app_version = "1.0.0"
    os_version = "18.1"
    device_model = "iPhone16,1"
    secret_kid = "k2026"
