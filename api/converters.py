"""URL path converters."""

# The largest id a path or a query may name: 18 digits, so that it always fits a BIGINT.
LARGEST_ID = 10**18 - 1


class IdConverter:
    """A database id: 1 to 18 digits, no leading zero (at most LARGEST_ID)."""

    regex = "[1-9][0-9]{0,17}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)
