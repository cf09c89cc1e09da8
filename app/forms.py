"""Small pieces shared by the features' forms."""
MAX_ID = 2**31 - 1  # ids are 32-bit integers in the database


def id_or_none(value) -> int | None:
    """A select's id (or a province/ward code): a positive database-sized integer, else None."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if 0 < number <= MAX_ID else None
