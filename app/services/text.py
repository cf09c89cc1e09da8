"""Text helpers: the one cleaning of text people type, diacritic folding for search.

`clean_text` is applied to every value of every form (app.forms.BaseForm) and to the text of
every JSON body the app stores (the bank webhook), and `clean_line` / `clean_block` do the same
for the services' own inputs, cut to a length:

- control characters are removed (NUL included; PostgreSQL refuses it in text), except a tab
  and the line breaks of a multi-line field, where "\\r\\n", "\\r", U+2028 and U+2029 become "\\n";
- bidirectional controls are removed: the embeddings and overrides U+202A–U+202E (U+202E makes
  "gpj.exe" read "exe.jpg"), the isolates U+2066–U+2069 and the marks U+200E, U+200F, U+061C;
- invisible characters are removed: zero-width space U+200B, word joiner U+2060, the invisible
  operators U+2061–U+2064 and the byte-order mark U+FEFF. The zero-width (non-)joiners U+200C and
  U+200D stay: Persian, Hindi and other scripts need them, and so do emoji ("👩‍🎓" is three
  characters joined by U+200D); so do variation selectors and tag characters (flags);
- lone surrogates (which a JSON "\\ud800" escape can carry, and no database can store) are removed;
- the text is put in Unicode NFC, so "ộ" typed as o + two combining marks (the "tổ hợp" input of
  some Vietnamese keyboards) is the same letter as the precomposed one;
- one line: every run of whitespace (line breaks included) becomes one space, outer spaces go;
  several lines: trailing spaces of each line go, then the outer blank lines and spaces.
"""
import re
import unicodedata

_SPACES = re.compile(r"\s+")
_BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_INVISIBLE = "\u200b\u2060-\u2064\ufeff"
# Control characters but tab, LF and CR (they are whitespace, handled per kind of field).
_HIDDEN = re.compile(f"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f{_BIDI}{_INVISIBLE}\ud800-\udfff]")


def clean_text(text, multiline: bool = False):
    """A text as typed, cleaned (see the module's doc); anything but a str is returned as is."""
    if not isinstance(text, str):
        return text
    if not (text.isascii() and text.isprintable()):  # else nothing to remove or compose
        if multiline:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
            text = text.replace("\u2028", "\n").replace("\u2029", "\n")
        text = unicodedata.normalize("NFC", _HIDDEN.sub("", text))
    if multiline:
        return "\n".join(line.rstrip() for line in text.split("\n")).strip()
    return " ".join(text.split())


def has_hidden(text: str) -> bool:
    """Whether the text holds a character `clean_text` would remove or a line break or tab —
    what a new password must not hold (it is never cleaned: it is refused instead)."""
    return bool(_HIDDEN.search(text or "")) or any(c in (text or "") for c in "\t\n\r")


def clean_line(text: str | None, max_len: int) -> str:
    """One line of text, cleaned and cut to max_len."""
    return clean_text(text or "")[:max_len].rstrip()


def clean_block(text: str | None, max_len: int) -> str:
    """Text of several lines, cleaned and cut to max_len."""
    return clean_text(text or "", multiline=True)[:max_len].rstrip()


def fold(text: str) -> str:
    """Lower-case, strip Vietnamese diacritics, đ→d: "Đồ dùng học tập" → "do dung hoc tap"."""
    text = (text or "").replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text)
    stripped = "".join(c for c in decomposed if unicodedata.category(c) != "Mn")
    return _SPACES.sub(" ", stripped.lower()).strip()
