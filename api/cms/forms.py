"""Forms of the CMS: the users list's search and filters, and the profile editor."""

from collections.abc import Mapping
from typing import Any

from django import forms

from api.cms.selectors import DEFAULT_USER_SORT, USER_SORTS, UserFilters
from api.models import Device, UserProfile
from api.validators import validate_locale, validate_single_line, validate_timezone

YES_NO = {"yes": True, "no": False}


class UserFilterForm(forms.Form):
    """The users list's query string. Invalid values filter nothing rather than fail the page."""

    q = forms.CharField(
        label="Search",
        required=False,
        max_length=150,
        strip=True,
        help_text="Username, email, or a full device id.",
    )
    active = forms.ChoiceField(
        label="Status",
        required=False,
        choices=[("", "Any status"), ("yes", "Active"), ("no", "Deactivated")],
    )
    staff = forms.ChoiceField(
        label="Role",
        required=False,
        choices=[("", "Any role"), ("yes", "Staff"), ("no", "Not staff")],
    )
    platform = forms.ChoiceField(
        label="Platform",
        required=False,
        choices=[("", "Any platform"), *Device.Platform.choices],
    )
    sort = forms.ChoiceField(
        required=False,
        choices=[(key, key) for name in USER_SORTS for key in (name, f"-{name}")],
        widget=forms.HiddenInput,
    )

    def filters(self) -> UserFilters:
        """The filters of the fields that are valid; call after is_valid()."""
        data: dict[str, Any] = getattr(self, "cleaned_data", {})
        return UserFilters(
            query=data.get("q", ""),
            active=YES_NO.get(data.get("active", "")),
            staff=YES_NO.get(data.get("staff", "")),
            platform=data.get("platform", ""),
            sort=data.get("sort") or DEFAULT_USER_SORT,
        )


class ProfileForm(forms.Form):
    """A user's profile, checked as the API checks it (the limits of
    api/apis/me/serializers.py, the validators of api/validators.py).

    Build it with `initial=profile_initial(profile, request.POST)`: `changes()` is what
    differs from it.
    """

    display_name = forms.CharField(
        label="Display name", max_length=150, required=False, validators=[validate_single_line]
    )
    # Typed without a scheme, a URL is https, not http (as in the admin).
    avatar_url = forms.URLField(
        label="Avatar URL", max_length=500, required=False, assume_scheme="https"
    )
    locale = forms.CharField(
        label="Locale",
        max_length=16,
        required=False,
        validators=[validate_locale],
        help_text="A language tag, such as en-US.",
    )
    timezone = forms.CharField(
        label="Time zone",
        max_length=64,
        required=False,
        validators=[validate_timezone],
        help_text="An IANA name, such as Europe/Amsterdam.",
    )
    bio = forms.CharField(
        label="Bio", max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def changes(self) -> dict[str, str]:
        """The changed fields and their new values; call after is_valid()."""
        return {name: self.cleaned_data[name] for name in self.changed_data}

    def changed_labels(self) -> list[str]:
        return [str(self.fields[name].label) for name in self.changed_data]


# The page posts back, beside each field, the value it showed (templates/cms/user_detail.html).
SHOWN = "shown-{}"


def profile_initial(profile: UserProfile, data: Mapping[str, Any] | None = None) -> dict[str, str]:
    """What the form's fields are compared with: the values the page showed, where `data` (the
    POST) carries them, else the profile's. Compared with the profile as it now stands, a field
    the user changed after the page was shown (PATCH /me/) would count as the staff member's
    change, and be put back to what the page showed."""
    shown = data or {}
    return {
        name: shown.get(SHOWN.format(name), getattr(profile, name))
        for name in ProfileForm.base_fields
    }
