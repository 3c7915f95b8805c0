"""Chinese text cut into search terms (jieba), for the catalog's search and the open portal's.

Text is NFKC-normalised and lowercased, then cut with jieba: an indexed text with
``cut_for_search`` (``segment``: every word and its sub-words), a query in precise mode
(``query_terms``: fewer, longer terms, each among the ``cut_for_search`` terms of a text that
contains it). Punctuation, spaces and ``_`` never become terms. jieba's dictionary is loaded
once per process into a tokenizer of its own, its cache in a directory only this user can write.
"""

from __future__ import annotations

import logging
import os
import re
import stat
import tempfile
import threading
import unicodedata
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

import jieba  # type: ignore[import-untyped]

from govdata.core.errors import InvalidInput

MAX_QUERY_CHARS = 100  # the pages and the API accept at most 100 characters too
MAX_QUERY_TERMS = 32
# Function words dropped from a query that has other terms (never from the index, so a query
# of only such a word still finds what contains it). A product decision.
QUERY_STOPWORDS = frozenset({"的", "之", "和", "与", "及", "或", "等", "了", "以及", "及其"})
_WORD = re.compile(r"[^\W_]+")
# A query term's alternatives (itself, the city bureau's synonyms), each the terms it needs.
Group = tuple[tuple[str, ...], ...]


_tokenizer: Any = None
_tokenizer_lock = threading.Lock()


def _private_cache_dir() -> str | None:
    """A directory only this user can write, for jieba's dictionary cache; None if there is none.

    jieba writes its cache to ``tempfile.gettempdir()/jieba.cache`` (not HOME) and loads whatever
    file it finds there; in a shared temp directory another user could plant one. So the cache
    goes to ``<tmp>/govdata-jieba-<uid>`` (mode 0700, ours), or nowhere.
    """
    try:
        path = Path(tempfile.gettempdir()) / f"govdata-jieba-{os.getuid()}"
        path.mkdir(mode=0o700, exist_ok=True)
        info = path.lstat()
    except OSError:
        return None
    private = stat.S_ISDIR(info.st_mode) and not info.st_mode & 0o077
    if info.st_uid != os.getuid() or not private or not os.access(path, os.W_OK | os.X_OK):
        return None
    return str(path)


def _load_tokenizer(cache_dir: str | None) -> Any:
    """A jieba tokenizer of its own (jieba's global one is left alone), loaded quietly."""
    jieba.setLogLevel(logging.WARNING)  # jieba logs its loading at DEBUG to stderr
    tokenizer = jieba.Tokenizer()
    if cache_dir is not None:
        tokenizer.tmp_dir = cache_dir
        tokenizer.initialize()
    else:
        # No writable private directory: build the prefix dictionary without a cache (about a
        # second slower), as jieba's own ``initialize`` does before it dumps the cache.
        tokenizer.FREQ, tokenizer.total = tokenizer.gen_pfdict(tokenizer.get_dict_file())
        tokenizer.initialized = True
    return tokenizer


def _jieba() -> Any:
    global _tokenizer  # noqa: PLW0603 - loaded once per process, on first use
    if _tokenizer is None:
        with _tokenizer_lock:
            if _tokenizer is None:
                _tokenizer = _load_tokenizer(_private_cache_dir())
    return _tokenizer


def _normalise(text_: str) -> str:
    # NFKC folds full-width letters and digits (ＡＢＣ１２３) to their ASCII forms.
    return unicodedata.normalize("NFKC", text_).lower()


def _words(tokens: Iterable[str]) -> list[str]:
    # Only letters and digits: punctuation, spaces and "_" never reach the database, and a token
    # like "covid-19" becomes "covid", "19" as both FTS5's unicode61 and PostgreSQL's parser
    # would split it.
    return [w for token in tokens for w in _WORD.findall(token)]


def segment(text: str) -> list[str]:
    """Index terms of ``text``: jieba ``cut_for_search``, lowercased, punctuation dropped."""
    return _words(_jieba().cut_for_search(_normalise(text)))


@lru_cache(maxsize=4096)
def item_name_terms(name: str) -> str:
    # Info-item names repeat across thousands of resources (姓名, 统一社会信用代码 …).
    return " ".join(segment(name))


def precise_words(text: str) -> list[str]:
    """``text`` cut in precise mode (as a query is), lowercased, punctuation dropped."""
    return _words(_jieba().cut(_normalise(text)))


def query_terms(q: str) -> list[str]:
    """The terms every match must contain, or ``InvalidInput`` for an unusable query.

    Precise-mode segmentation: each of its words is also among the ``cut_for_search`` terms of
    a text that contains it, and fewer terms are faster to intersect.
    """
    q = q.strip()
    if not q:
        raise InvalidInput("catalog.search_query_empty", "请输入检索词。")
    if len(q) > MAX_QUERY_CHARS:
        raise InvalidInput(
            "catalog.search_query_too_long",
            f"检索词不能超过{MAX_QUERY_CHARS}个字符。",
            detail={"max_chars": MAX_QUERY_CHARS},
        )
    terms = list(dict.fromkeys(precise_words(q)))
    if not terms:
        raise InvalidInput(
            "catalog.search_query_empty", "检索词中没有可检索的文字，请输入中文、字母或数字。"
        )
    meaningful = [t for t in terms if t not in QUERY_STOPWORDS]
    return (meaningful or terms)[:MAX_QUERY_TERMS]
