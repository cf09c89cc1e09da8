"""The one way the app reads a JSON body it is sent (webhooks, offline syncs): bounded in size and
in nesting depth before it is parsed, so that no body can exhaust the parser's recursion (a
RecursionError, a 500) or the worker's memory."""
import json

MAX_BYTES = 64 * 1024
MAX_DEPTH = 16


class JSONBodyError(ValueError):
    """Not a usable JSON body; `reason` is "size", "depth" or "syntax"."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def loads(raw: bytes, max_bytes: int = MAX_BYTES, max_depth: int = MAX_DEPTH):
    if len(raw) > max_bytes:
        raise JSONBodyError("size")
    if _depth(raw) > max_depth:
        raise JSONBodyError("depth")
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as exc:  # ValueError: also bytes that are not UTF-8
        raise JSONBodyError("syntax") from exc


def _depth(raw: bytes) -> int:
    """The deepest nesting of [ and { outside strings (a linear scan; json checks the rest)."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return deepest
