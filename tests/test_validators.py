"""Field validators shared by the API and the CMS."""

import pytest
from django.core.exceptions import ValidationError

from api.validators import validate_timezone


@pytest.mark.parametrize("name", ["localtime", "posixrules", "Factory"])
def test_a_zoneinfo_file_that_is_not_an_iana_zone_is_refused(name):
    with pytest.raises(ValidationError) as refused:
        validate_timezone(name)
    assert refused.value.code == "invalid"
    assert refused.value.messages == ["Not an IANA time zone name, such as Europe/Amsterdam."]


@pytest.mark.parametrize("name", ["Europe/Amsterdam", "America/Argentina/Buenos_Aires", "UTC", ""])
def test_iana_zone_names_and_empty_pass(name):
    validate_timezone(name)
