"""Text helpers: diacritic folding for search and ASCII messages."""
import re
import unicodedata

_SPACES = re.compile(r"\s+")


def fold(text: str) -> str:
    """Lower-case, strip Vietnamese diacritics, đ→d: "Đồ dùng học tập" → "do dung hoc tap"."""
    text = (text or "").replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text)
    stripped = "".join(c for c in decomposed if unicodedata.category(c) != "Mn")
    return _SPACES.sub(" ", stripped.lower()).strip()


def clean_line(text: str, max_len: int) -> str:
    """One line of user text: control characters removed, spaces collapsed, cut to max_len."""
    text = "".join(c for c in (text or "") if unicodedata.category(c)[0] != "C" or c == " ")
    return _SPACES.sub(" ", text).strip()[:max_len]
