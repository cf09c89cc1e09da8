"""Full-text matching of the items' folded text on both engines (issue #12; the index itself is
app/models/search.py). Statement building, the order of results, and the spelling suggestion;
services/catalog uses it.

A search is a list of folded words; each must start a word of the item ("ao so" finds "Áo sơ
mi"). The results come in four tiers, best first, each in stock first and then newest first
(by id: items are numbered as they are listed):

1. every word is a whole word of the title (or the size): "vo" → "Vở ô li …";
2. every word starts a word of the title or size: "ao so" → "Áo sơ mi …";
3. every word is a whole word somewhere (title, category, size, description);
4. every word starts a word somewhere.

On SQLite each tier, in stock or not, is its own FTS5 expression read in rowid order (newest
first) and stopped after a page: a page costs a few index reads, not a sort of every match.
On PostgreSQL one statement orders the matches by tier (tsquery tests on the stored tsvector,
title and size in weight A), in stock and id.

Typos (words of MIN_TYPO_LENGTH letters or more): when the words as typed find nothing, each
unknown word is replaced by the index's word one edit away (corrected()): PostgreSQL finds it
by trigram similarity in `item_words` (pg_trgm) and the catalog lists its items at once;
SQLite reads the FTS5 vocabulary (items_fts_vocab) and the catalog suggests it: "Có phải bạn
tìm …?".
"""
import re
from dataclasses import dataclass

from sqlalchemy import (
    Select,
    column,
    func,
    literal_column,
    select,
    table,
    text,
)
from sqlalchemy.orm import Session

from ..models import Item
from .text import fold

MAX_WORDS = 8
MIN_TYPO_LENGTH = 5
# pg_trgm's similarity (`%` is "greater than") that a word of five letters with one typo still
# reaches: a letter changed keeps 3 of its 6 trigrams (3/9 = 0.33), two letters swapped 2
# (2/10 = 0.2); within_one_edit then keeps only the words one edit away.
TRIGRAM_SIMILARITY = 0.15
_WORD = re.compile(r"[^\W_]+")
ITEMS_FTS = table("items_fts", column("rowid"))
_FTS = literal_column("items_fts")  # the table as the left side of MATCH


def words(q: str) -> list[str]:
    """The folded words of a search as both indexes cut them (letters and digits)."""
    return _WORD.findall(fold(q))[:MAX_WORDS]


def _engine(session: Session) -> str:
    return session.get_bind().dialect.name


# A part of a search: every word as a prefix (or whole), in the title and size (or anywhere).
WHOLE_TITLE, PREFIX_TITLE, WHOLE, PREFIX = (False, True), (True, True), (False, False), \
    (True, False)
# The tiers: (what matches, what a better tier already took).
TIERS = ((WHOLE_TITLE, ()), (PREFIX_TITLE, (WHOLE_TITLE,)), (WHOLE, (PREFIX_TITLE,)),
         (PREFIX, (PREFIX_TITLE, WHOLE)))


def _fts(ws: list[str], part) -> str:
    prefix, title = part
    expr = " AND ".join(f'"{w}"' + ("*" if prefix else "") for w in ws)
    return f"search_title : ({expr})" if title else f"({expr})"


def _tsquery(ws: list[str], part) -> str:
    prefix, title = part
    mark = (":*" if prefix else ":") + ("A" if title else "")
    return "(" + " & ".join(w + ("" if mark == ":" else mark) for w in ws) + ")"


def _vector():
    return literal_column("items.search_vector")


def _to_tsquery(query: str):
    return func.to_tsquery(literal_column("'simple'::regconfig"), query)


@dataclass(frozen=True)
class Search:
    """The words of a search, matched on the session's engine."""
    session: Session
    ws: list[str]

    @property
    def sqlite(self) -> bool:
        return _engine(self.session) == "sqlite"

    def _select(self, part, taken, columns) -> Select:
        if self.sqlite:
            expr = _fts(self.ws, part) + "".join(f" NOT {_fts(self.ws, t)}" for t in taken)
            return select(*columns).select_from(ITEMS_FTS) \
                .join(Item, Item.id == ITEMS_FTS.c.rowid).where(_FTS.op("MATCH")(expr))
        query = _tsquery(self.ws, part) + "".join(f" & !{_tsquery(self.ws, t)}" for t in taken)
        return select(*columns).select_from(Item).where(_vector().op("@@")(_to_tsquery(query)))

    def _newest(self):
        """Newest first: SQLite hands FTS5 matches over in rowid order, without a sort."""
        return ITEMS_FTS.c.rowid.desc() if self.sqlite else Item.id.desc()

    def select(self, *columns) -> Select:
        """select(*columns) from the items the words match (each as a prefix, anywhere)."""
        return self._select(PREFIX, (), columns)

    def page_ids(self, conditions: list, per_page: int, offset: int, total: int) -> list[int]:
        """The ids of a page of the matches that meet `conditions`, best first; `total`: how
        many there are (from the facet counts). Segment after segment (tier, then in stock or
        not), each read newest first and stopped after the page's last row: a page deep in the
        results reads the ids before it (a few hundred integers), not whole segments."""
        ids: list[int] = []
        seen = 0  # matches in the segments passed
        for part, taken in TIERS:
            for in_stock in (True, False):
                if len(ids) == per_page or seen >= total:
                    return ids
                start = offset + len(ids) - seen  # this segment's first row of the page
                need = per_page - len(ids)
                found = list(self.session.scalars(
                    self._select(part, taken, [Item.id])
                    .where(*conditions, Item.in_stock == in_stock)
                    .order_by(self._newest()).limit(start + need)))
                ids += found[start:]
                seen += len(found)  # the whole segment when it ended before the limit
        return ids


def product_ids(session: Session, ws: list[str]) -> Select:
    """The ids of the start-ups' products whose text has every word as a prefix (products_fts /
    products.search_vector, models/search.py)."""
    if _engine(session) == "sqlite":
        fts = table("products_fts", column("rowid"))
        return select(fts.c.rowid).where(literal_column("products_fts").op("MATCH")(
            _fts(ws, PREFIX)))
    return select(literal_column("products.id")).select_from(table("products")).where(
        literal_column("products.search_vector").op("@@")(_to_tsquery(_tsquery(ws, PREFIX))))


# ---------------------------------------------------------------- typos

_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"


def one_edit(w: str) -> set[str]:
    """Every word one edit from `w` (about 400 for five letters): SQLite asks its vocabulary
    for exactly these, instead of reading every word with its counts."""
    splits = [(w[:i], w[i:]) for i in range(len(w) + 1)]
    return ({a + b[1:] for a, b in splits if b}
            | {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
            | {a + c + b[1:] for a, b in splits if b for c in _ALPHABET}
            | {a + c + b for a, b in splits for c in _ALPHABET}) - {w}


def within_one_edit(a: str, b: str) -> bool:
    """One letter added, removed, changed, or two neighbours swapped (or none)."""
    if a == b:
        return True
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diff) == 1 or (len(diff) == 2 and diff[1] == diff[0] + 1
                                  and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]])
    short, longer = (a, b) if len(a) < len(b) else (b, a)
    i = 0
    while i < len(short) and short[i] == longer[i]:
        i += 1
    return short[i:] == longer[i + 1:]


def _known(session: Session, w: str) -> bool:
    """Some word of the index starts with `w`."""
    if _engine(session) == "sqlite":
        sql = "SELECT 1 FROM items_fts_vocab WHERE term >= :w AND term < :w || char(65535) LIMIT 1"
    else:
        sql = "SELECT 1 FROM item_words WHERE word LIKE :w || '%' LIMIT 1"
    return session.execute(text(sql), {"w": w}).first() is not None


def _nearest(session: Session, w: str) -> str | None:
    """The index's word one edit away from `w`: SQLite, the one in the most items (the
    vocabulary asked for every word one_edit(w)); PostgreSQL, the most similar by trigrams
    (item_words through its trigram index)."""
    if _engine(session) == "sqlite":
        rows = session.execute(select(literal_column("term"), literal_column("doc"))
                               .select_from(table("items_fts_vocab"))
                               .where(literal_column("term").in_(sorted(one_edit(w)))))
        near = [(doc, term) for term, doc in rows]
        return max(near)[1] if near else None
    session.execute(select(func.set_config("pg_trgm.similarity_threshold",
                                           str(TRIGRAM_SIMILARITY), True)))
    rows = session.scalars(text(
        "SELECT word FROM item_words WHERE word % :w ORDER BY similarity(word, :w) DESC, word "
        "LIMIT 200"), {"w": w})
    return next((word for word in rows if within_one_edit(w, word)), None)


def corrected(session: Session, ws: list[str]) -> list[str] | None:
    """For a search that found nothing: the words with each unknown word of MIN_TYPO_LENGTH
    letters or more replaced by the index's nearest word one edit away; None when nothing
    changes."""
    out = [(_nearest(session, w) or w) if len(w) >= MIN_TYPO_LENGTH and not _known(session, w)
           else w for w in ws]
    return out if out != ws else None
