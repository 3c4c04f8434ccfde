"""Splitting an article into passages: the units that are embedded, indexed for full text and cited."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from .drafts import ArticleDraft

__all__ = [
    "MAX_WORDS",
    "Passage",
    "draft_passages",
    "embedding_text",
    "passages_to_embed",
    "split_passages",
]

# e5-small reads 512 tokens at most and retrieves best on a focused paragraph or two; ~120 words of
# English (more tokens in Hebrew, Persian and Arabic) stays well inside that.
MAX_WORDS = 120
# A section shorter than this (a heading over one line) is joined to the next one, so it is not a passage
# that can only ever match its own few words.
MIN_WORDS = 8

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
# An escaped character is kept (as itself), emphasis marks and code ticks go: one pass, so "\\*" stays "*".
_MARKUP = re.compile(r"\\([\\`*_{}\[\]()#+\-.!>|~])|\*\*|__|\*|`")
_BULLET = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")


@dataclass(frozen=True, slots=True)
class Passage:
    """One passage: its place in the article, the section heading it sits under, its plain text."""

    position: int
    heading: str
    text: str


def _plain(line: str) -> str:
    # Markdown markup is noise to both the encoder and the full-text index; the text is what is cited.
    line = _LINK.sub(r"\1", line)
    line = _MARKUP.sub(lambda m: m.group(1) or "", line)
    return _BULLET.sub("- ", line).rstrip()


def _sections(body: str, title: str) -> list[tuple[str, list[str]]]:
    """(heading, lines) per section; a leading top heading that repeats the title is dropped."""
    sections: list[tuple[str, list[str]]] = [("", [])]
    for raw in body.splitlines():
        match = _HEADING.match(raw)
        if match is None:
            sections[-1][1].append(_plain(raw))
            continue
        heading = _plain(match.group(2))
        if len(match.group(1)) == 1 and heading.strip().casefold() == title.strip().casefold():
            continue
        sections.append((heading, []))
    return [(h, lines) for h, lines in sections if h or any(line.strip() for line in lines)]


def _blocks(lines: list[str]) -> list[str]:
    """Paragraphs, with every list item a block of its own (so a long list can be cut between items)."""
    blocks: list[str] = []
    current: list[str] = []
    for line in [*lines, ""]:
        if not line.strip() or line.startswith("- "):
            if current:
                blocks.append(" ".join(current))
            current = [line] if line.strip() else []
        else:
            current.append(line.strip())
    return blocks


def _words(text: str) -> int:
    return len(text.split())


def _chunks(blocks: list[str], max_words: int) -> list[str]:
    """Blocks packed into chunks of at most ``max_words`` (a longer block is cut at sentence ends)."""
    chunks: list[list[str]] = [[]]
    for block in blocks:
        for piece in _cut(block, max_words):
            size = sum(_words(b) for b in chunks[-1])
            if chunks[-1] and size + _words(piece) > max_words:
                chunks.append([])
            chunks[-1].append(piece)
    return ["\n".join(c) for c in chunks if c]


def _cut(block: str, max_words: int) -> list[str]:
    if _words(block) <= max_words:
        return [block]
    pieces: list[str] = [""]
    for sentence in re.split(r"(?<=[.!?؟。])\s+", block):
        if pieces[-1] and _words(pieces[-1]) + _words(sentence) > max_words:
            pieces.append("")
        pieces[-1] = f"{pieces[-1]} {sentence}".strip()
    return pieces


def split_passages(title: str, body: str, short: str = "", *, max_words: int = MAX_WORDS) -> list[Passage]:
    """The passages of an article: its short variant first, then its sections cut to ``max_words``."""
    out: list[tuple[str, str]] = [("", short.strip())] if short.strip() else []
    carried = ""
    for heading, lines in _sections(body, title):
        chunks = _chunks(_blocks(lines), max_words)
        text = "\n".join(chunks)
        if heading and _words(text) < MIN_WORDS:
            carried = f"{carried}\n{heading}: {text}" if text else f"{carried}\n{heading}"
            continue
        for chunk in chunks or [""]:
            out.append((heading, f"{carried}\n{chunk}".strip()))
            carried = ""
    if carried.strip():
        out.append(("", carried.strip()))
    kept = [(heading, text) for heading, text in out if text]
    return [Passage(n, heading, text) for n, (heading, text) in enumerate(kept)]


def embedding_text(title: str, passage: Passage, tags: Sequence[str] = ()) -> str:
    """What is embedded and indexed for ``passage``: the article's title, the section heading and the
    article's tags (keywords its author chose) give the passage its context."""
    return "\n".join(part for part in (title, passage.heading, passage.text, ", ".join(tags)) if part)


def draft_passages(draft: ArticleDraft) -> list[Passage]:
    """The passages of an article draft (what ``replace_passages`` stores for it)."""
    return split_passages(draft.title, draft.body, draft.short)


def passages_to_embed(draft: ArticleDraft) -> list[str]:
    """The texts to embed (kind "passage") for ``draft``, one per ``draft_passages(draft)``, in order."""
    return [embedding_text(draft.title, p, draft.tags) for p in draft_passages(draft)]
