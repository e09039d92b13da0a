"""Models, serializers and a list route that only the tests use: the subjects of the tests of the
shared machinery (counts, pagination, serialization, negotiation, updates), so that those tests
do not depend on the example feature, which a project deletes (README, "Adding a feature").

Installed by tests/settings.py only; without migrations, so the test database creates its tables
as they stand."""
