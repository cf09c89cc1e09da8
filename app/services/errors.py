"""What a use-case refuses, said for the person who asked."""


class ServiceError(ValueError):
    """The base of every service's refusal: `message` (often a lazy string, rendered in the
    reader's language) and `field`, the form field it belongs to (None: the form as a whole).
    Forms put it in place with `ShowsErrors.show` (app/forms.py)."""

    def __init__(self, message, field: str | None = None):
        super().__init__(str(message))
        self.message = message
        self.field = field
