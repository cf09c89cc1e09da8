"""Full-text matching of the items' folded text on both engines (issue #12; the index itself is
app/models/search.py). Pure statement building plus the spelling suggestion; the catalog
(services/catalog) and the staff's list (services/inventory) use it.

A search is a list of folded words; each must start a word of the item's text ("ao so" finds
"Áo sơ mi"). Each word is asked for twice, as a whole word OR as a prefix, so that an item holding
the whole word scores both and comes before one where it only starts a longer word. The title
counts ten times the rest (SQLite: bm25 column weights 10 and 1; PostgreSQL: ts_rank with the
title in weight A = 1.0 and the whole text in B = 0.4, normalization 0).

Typos (words of MIN_TYPO_LENGTH letters or more): PostgreSQL finds items by trigram word
similarity (`search_text %> word`, served by ix_items_search_trgm) when the words as typed find
nothing; SQLite suggests the nearest words of the index's vocabulary (items_fts_vocab) instead.
"""
import re
from dataclasses import dataclass

from sqlalchemy import (
    ColumnElement,
    and_,
    column,
    func,
    literal_column,
    or_,
    select,
    table,
    text,
)
from sqlalchemy.orm import Session

from ..models import Item
from .text import fold

MAX_WORDS = 8
MIN_TYPO_LENGTH = 5
# pg_trgm's word similarity that one typo in a word of five letters or more still reaches
# ("khoec" ~ "khoac": 3 of 6 trigrams); its default, 0.6, misses most.
WORD_SIMILARITY = 0.5
_WORD = re.compile(r"[^\W_]+")


def words(q: str) -> list[str]:
    """The folded words of a search as both indexes cut them (letters and digits)."""
    return _WORD.findall(fold(q))[:MAX_WORDS]


@dataclass(frozen=True)
class Match:
    """How a list of words is matched on the session's engine: `where` for the items' query,
    `order` (best first) and `join` (SQLite: the query starts from the FTS table, joined to
    items by rowid)."""
    where: ColumnElement
    order: ColumnElement
    join: bool


ITEMS_FTS = table("items_fts", column("rowid"))
_FTS = literal_column("items_fts")  # the table as an argument of MATCH and bm25()


def _sqlite_match(ws: list[str]) -> str:
    return " AND ".join(f'("{w}" OR "{w}"*)' for w in ws)


def _pg_tsquery(ws: list[str]) -> str:
    return " & ".join(f"({w} | {w}:*)" for w in ws)


def _pg_vector():
    return literal_column("items.search_vector")


def _pg_query(ws: list[str]):
    return func.to_tsquery(literal_column("'simple'::regconfig"), _pg_tsquery(ws))


def match(session: Session, ws: list[str]) -> Match:
    if session.get_bind().dialect.name == "sqlite":
        return Match(where=_FTS.op("MATCH")(_sqlite_match(ws)),
                     order=func.bm25(_FTS, 10.0, 1.0), join=True)
    query = _pg_query(ws)
    vector = _pg_vector()
    return Match(where=vector.op("@@")(query), order=func.ts_rank(vector, query).desc(),
                 join=False)


def fuzzy_match(session: Session, ws: list[str]) -> Match | None:
    """PostgreSQL only, for a search that found nothing: each word of MIN_TYPO_LENGTH letters or
    more matches as typed or by trigram word similarity, best similarity first; None when no
    word is long enough (or on SQLite). Sets pg_trgm's threshold for this transaction."""
    if session.get_bind().dialect.name != "postgresql":
        return None
    long = [w for w in ws if len(w) >= MIN_TYPO_LENGTH]
    if not long:
        return None
    session.execute(select(func.set_config("pg_trgm.word_similarity_threshold",
                                           str(WORD_SIMILARITY), True)))
    vector = _pg_vector()
    conditions = []
    for w in ws:
        exact = vector.op("@@")(_pg_query([w]))
        conditions.append(or_(exact, Item.search_text.op("%>")(w)) if w in long else exact)
    score = sum((func.word_similarity(w, Item.search_text) for w in long), start=0.0)
    return Match(where=and_(*conditions), order=score.desc(), join=False)


def from_items(session: Session, m: Match, *columns):
    """select(*columns) from the items matching `m` (joined to the FTS table on SQLite)."""
    stmt = select(*columns)
    if m.join:
        stmt = stmt.select_from(ITEMS_FTS).join(Item, Item.id == ITEMS_FTS.c.rowid)
    return stmt.where(m.where)


# ---------------------------------------------------------------- spelling suggestions (SQLite)

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


def suggestion(session: Session, ws: list[str]) -> list[str] | None:
    """SQLite: the words with each unknown word of MIN_TYPO_LENGTH letters or more replaced by the
    vocabulary's word one edit away found in the most items; None when nothing changes. Runs only
    for a search that found nothing; reads the vocabulary's words of about that length."""
    if session.get_bind().dialect.name != "sqlite":
        return None
    changed, out = False, []
    for w in ws:
        if len(w) < MIN_TYPO_LENGTH or session.execute(
                text("SELECT 1 FROM items_fts_vocab WHERE term >= :w AND term < :end LIMIT 1"),
                {"w": w, "end": w + "\uffff"}).first():
            out.append(w)
            continue
        rows = session.execute(text(
            "SELECT term, doc FROM items_fts_vocab WHERE length(term) BETWEEN :lo AND :hi"),
            {"lo": len(w) - 1, "hi": len(w) + 1})
        near = [(doc, term) for term, doc in rows if within_one_edit(w, term)]
        if near:
            out.append(max(near)[1])
            changed = True
        else:
            out.append(w)
    return out if changed else None
