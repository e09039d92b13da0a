"""The system check that catches a mistaken scope declaration before any request does."""

import pytest

from api.throttling.checks import check_rate_limit_declarations


def test_the_project_and_its_test_views_declare_only_known_scopes(settings):
    assert check_rate_limit_declarations(None) == []
    settings.ROOT_URLCONF = "tests.throttling.urls"
    assert check_rate_limit_declarations(None) == []


@pytest.mark.urls("tests.throttling.misdeclared_urls")
def test_unknown_scopes_and_malformed_declarations_are_errors_naming_the_view():
    errors: dict[str, list[str]] = {}
    for error in check_rate_limit_declarations(None):
        errors.setdefault(str(error.id), []).append(error.msg)
    assert errors == {
        "api.E011": [
            "TypoView declares unknown rate-limit scope(s) ['admni', 'serach'].",
            "dashed declares unknown rate-limit scope(s) ['content-listing'].",
        ],
        "api.E010": [
            "throttle_scopes of UpperCaseMethodView has keys no request uses: ['GET'].",
            "throttle_scopes of MisspeltActionViewSet has keys no request uses: ['lists'].",
            "throttle_scope of DictScopeView must be a scope or a tuple of scopes, "
            "not {'get': 'search'}",
        ],
    }
