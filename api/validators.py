"""Field validators shared by the API's serializers and the CMS's forms.

They raise Django's `ValidationError`, which both understand: DRF turns it into a field error
with the same code, a Django form shows it next to the field.
"""

import re
import zoneinfo
from functools import cache

from django.core.exceptions import ValidationError

# BCP 47-ish: a language, then optional script/region/variant subtags ("en", "en-US", "zh-Hant-TW").
LOCALE_PATTERN = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*")


# `available_timezones()` lists every TZif file of the host's zoneinfo, so also names that are
# no place's zone: `localtime`, a link to the host's own zone; `Factory`, the "-00" placeholder
# of a host whose zone is unset; `posixrules`, a template for POSIX TZ strings (which Python
# already leaves out).
NOT_TIMEZONES = frozenset({"localtime", "posixrules", "Factory"})


@cache
def _timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones()) - NOT_TIMEZONES


def validate_timezone(value: str) -> None:
    """An IANA time zone name such as "Europe/Amsterdam" (empty is allowed)."""
    if value and value not in _timezones():
        raise ValidationError("Not an IANA time zone name, such as Europe/Amsterdam.", "invalid")


def validate_locale(value: str) -> None:
    """A BCP 47 language tag such as "en-US" (empty is allowed)."""
    if value and not LOCALE_PATTERN.fullmatch(value):
        raise ValidationError("Not a language tag, such as en-US.", "invalid")


# C0 and C1 controls and Unicode's line and paragraph separators: whatever a reader of a line may
# break it at (Python's splitlines() breaks at \x85, \u2028 and \u2029 too). And the
# bidirectional embeddings, overrides and isolates, which show a line's characters in another
# order than they are stored: a device model that reads as something else to staff in the CMS.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def validate_single_line(value: str) -> None:
    """One line of text (a display name, a device's model): no line breaks or other control
    characters, which a browser's text field would drop, so a staff member's save of the page
    rewrote the value, and no bidirectional overrides, which make it read as another text."""
    if CONTROL_CHARACTERS.search(value):
        raise ValidationError("One line of text, without control characters.", "invalid")


# Largest value of a BIGINT primary key; larger ids in paths or filters are refused up front
# (SQLite cannot even bind them).
MAX_ID = 2**63 - 1
