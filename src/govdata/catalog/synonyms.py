"""Search synonyms the city bureau keeps (检索同义词; Art. 12 ¶3, 32; a product feature).

Users search with the words they use (社保, 身份证), while the catalog names things as the
national guide does (社会保险, 公民身份号码). The city bureau keeps a list of one-way
synonyms: a word and what it also finds. Both the catalog's search and the open portal's expand
a query with them: each query term (or run of terms) that is a word of the list becomes a group
of alternatives — the word itself or any of its expansions — and a match needs one alternative
of every group. An alternative of several tokens (a phrase jieba splits) needs all of them.

Every change is an audit event. Reading the list is open to everyone who can search.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.catalog.models import SearchSynonym
from govdata.catalog.segmentation import Group, precise_words
from govdata.core import audit
from govdata.core.actor import Actor
from govdata.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from govdata.core.text import has_control
from govdata.org import policy as org_policy

MAX_CHARS = 50
MAX_PER_WORD = 10

Alternative = tuple[str, ...]  # the terms an alternative of a query's group needs


def _tokens(text: str) -> Alternative:
    # Precise-mode words (as a query is cut): each is among the index's cut_for_search tokens
    # of a text containing it.
    return tuple(dict.fromkeys(precise_words(text)))


@dataclass(frozen=True)
class Expansions:
    """The synonym list as a query reads it: a word's tokens → the alternatives it adds."""

    by_word: dict[Alternative, tuple[Alternative, ...]]

    @property
    def longest(self) -> int:
        return max((len(w) for w in self.by_word), default=0)

    def groups(self, terms: list[str]) -> list[Group]:
        """``terms`` grouped: a run of terms that is a listed word (the longest first) is one
        group of the word and its expansions; any other term is a group of itself."""
        out: list[Group] = []
        i = 0
        while i < len(terms):
            for n in range(min(self.longest, len(terms) - i), 0, -1):
                word = tuple(terms[i : i + n])
                found = self.by_word.get(word)
                if found:
                    out.append((word, *(alt for alt in found if alt != word)))
                    i += n
                    break
            else:
                out.append(((terms[i],),))
                i += 1
        return out


def expansions(session: Session) -> Expansions:
    """The list as a query uses it (read per query: the list is small, one indexed read)."""
    by_word: dict[Alternative, list[Alternative]] = {}
    for word, expansion in session.execute(
        select(SearchSynonym.word, SearchSynonym.expansion).order_by(SearchSynonym.id)
    ):
        key, alt = _tokens(word), _tokens(expansion)
        if key and alt and alt not in by_word.setdefault(key, []):
            by_word[key].append(alt)
    return Expansions({k: tuple(v) for k, v in by_word.items()})


def list_synonyms(session: Session) -> list[SearchSynonym]:
    return list(
        session.scalars(select(SearchSynonym).order_by(SearchSynonym.word, SearchSynonym.id))
    )


def _require_bureau(actor: Actor) -> None:
    if not org_policy.is_city_admin(actor):
        raise PermissionDenied(
            "catalog.synonyms_bureau_only", "只有市数据主管部门可以维护检索同义词。"
        )


def _clean(value: str, label: str) -> str:
    text = " ".join((value or "").split())
    if not text:
        raise InvalidInput("catalog.synonym_empty", f"请填写{label}。")
    if len(text) > MAX_CHARS:
        raise InvalidInput("catalog.synonym_too_long", f"{label}不能超过{MAX_CHARS}个字符。")
    if has_control(text):
        raise InvalidInput("catalog.synonym_control", f"{label}含有控制字符，请删除后再提交。")
    if not _tokens(text):
        raise InvalidInput(
            "catalog.synonym_unsearchable", f"{label}中没有可检索的文字，请输入中文、字母或数字。"
        )
    return text


def add(
    session: Session, actor: Actor, word: str, expansion: str, *, both_ways: bool = False
) -> list[SearchSynonym]:
    """Add ``word`` → ``expansion`` (and the reverse with ``both_ways``); the rows added. A pair
    already listed is refused, as is a word with ``MAX_PER_WORD`` expansions."""
    _require_bureau(actor)
    word, expansion = _clean(word, "检索词"), _clean(expansion, "同义词")
    if _tokens(word) == _tokens(expansion):
        raise InvalidInput("catalog.synonym_same", "检索词和同义词相同，无需添加。")
    pairs = [(word, expansion), *([(expansion, word)] if both_ways else [])]
    added: list[SearchSynonym] = []
    for w, e in pairs:
        existing = session.scalars(select(SearchSynonym).where(SearchSynonym.word == w)).all()
        if any(s.expansion == e for s in existing):
            if both_ways and added:
                continue  # the reverse was already there: the pair holds
            raise Conflict("catalog.synonym_exists", f"“{w} → {e}”已在同义词表中。")
        if len(existing) >= MAX_PER_WORD:
            raise Conflict(
                "catalog.synonym_limit", f"“{w}”已有{MAX_PER_WORD}个同义词，请先删除不用的。"
            )
        row = SearchSynonym(word=w, expansion=e, created_by=actor.person_id)
        session.add(row)
        session.flush()
        audit.record(
            session,
            actor,
            "catalog.synonym.add",
            object_type="search_synonym",
            object_id=row.id,
            summary=f"添加检索同义词：{w} → {e}",
            change={"word": w, "expansion": e},
        )
        added.append(row)
    return added


def remove(session: Session, actor: Actor, synonym_id: int) -> SearchSynonym:
    _require_bureau(actor)
    row = session.get(SearchSynonym, synonym_id)
    if row is None:
        raise NotFound("catalog.synonym_not_found", "未找到该检索同义词。")
    audit.record(
        session,
        actor,
        "catalog.synonym.remove",
        object_type="search_synonym",
        object_id=row.id,
        summary=f"删除检索同义词：{row.word} → {row.expansion}",
        change={"word": row.word, "expansion": row.expansion},
    )
    session.delete(row)
    session.flush()
    return row
