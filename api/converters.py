"""URL path converters."""


class IdConverter:
    """A database id: 1 to 18 digits, no leading zero, so it always fits a BIGINT."""

    regex = "[1-9][0-9]{0,17}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)
