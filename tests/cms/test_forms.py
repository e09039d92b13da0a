"""The CMS forms: the users list's filters and the profile editor."""

import pytest

from api.cms.forms import ProfileForm, UserFilterForm, profile_initial
from api.cms.selectors import UserFilters
from tests.factories import UserFactory


def filters(**data: str) -> UserFilters:
    form = UserFilterForm(data)
    form.is_valid()
    return form.filters()


def test_no_query_filters_nothing():
    assert filters() == UserFilters()


def test_query_values_become_filters():
    assert filters(q="  ada ", active="no", staff="yes", platform="web", sort="-devices") == (
        UserFilters(query="ada", active=False, staff=True, platform="web", sort="-devices")
    )


def test_invalid_values_are_dropped_and_valid_ones_kept():
    assert filters(q="ada", active="perhaps", platform="windows", sort="password") == (
        UserFilters(query="ada")
    )


@pytest.mark.django_db
def test_the_profile_form_reports_only_what_changed():
    user = UserFactory()
    profile = user.profile
    profile.display_name = "Ada"
    initial = profile_initial(profile)
    form = ProfileForm({**initial, "timezone": "Asia/Tokyo", "bio": "hello"}, initial=initial)
    assert form.is_valid(), form.errors
    assert form.changes() == {"timezone": "Asia/Tokyo", "bio": "hello"}
    assert form.changed_labels() == ["Time zone", "Bio"]


@pytest.mark.parametrize(
    ("field", "value"),
    [("timezone", "Europe/Nowhere"), ("locale", "english please"), ("avatar_url", "ftp://x")],
)
def test_the_profile_form_checks_fields_as_the_api_does(field, value):
    form = ProfileForm({field: value})
    assert not form.is_valid()
    assert list(form.errors) == [field]


def test_empty_values_are_allowed():
    assert ProfileForm({}).is_valid()
