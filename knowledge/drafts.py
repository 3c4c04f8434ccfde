"""What an author writes: article and call-script drafts, checked on the way in (plain, frozen values)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, get_args

__all__ = [
    "ArticleDraft",
    "ScriptBranch",
    "ScriptDraft",
    "ScriptStep",
    "Status",
    "check_language",
    "check_slug",
    "check_status",
    "steps_from_json",
    "steps_to_json",
]

Status = Literal["draft", "published"]
_STATUSES: frozenset[str] = frozenset(get_args(Status))
_SLUG = re.compile(r"[a-z0-9][a-z0-9_-]{0,199}")
# ISO 639 code with an optional region or script: en, he, fa, ar, pt-BR, zh-Hant.
_LANGUAGE = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})?")


def check_slug(slug: str) -> str:
    """``slug`` if it is lower-case letters, digits, '-' and '_' (at most 200); ValueError otherwise."""
    if not _SLUG.fullmatch(slug):
        raise ValueError(f"id must be lower-case letters, digits, '-' or '_': {slug!r}")
    return slug


def check_language(language: str) -> str:
    """``language`` if it looks like an ISO 639 code (``en``, ``he``, ``pt-BR``); ValueError otherwise."""
    if not _LANGUAGE.fullmatch(language):
        raise ValueError(f"language must be an ISO 639 code like 'en' or 'he': {language!r}")
    return language


def check_status(status: str) -> Status:
    """``status`` if it is ``draft`` or ``published``; ValueError otherwise."""
    if status not in _STATUSES:
        raise ValueError(f"status must be 'draft' or 'published', not {status!r}")
    return status  # type: ignore[return-value]  # checked against Status's values just above


def _texts(values: Iterable[str]) -> tuple[str, ...]:
    # Order kept, duplicates and blanks dropped: tags are a set that reads well in the order written.
    return tuple(dict.fromkeys(v.strip() for v in values if v.strip()))


@dataclass(frozen=True, slots=True)
class ArticleDraft:
    """An article as written: ``slug`` is its stable id across re-imports, ``body`` is Markdown."""

    slug: str
    language: str
    title: str
    body: str
    short: str = ""
    tags: tuple[str, ...] = ()
    case_types: tuple[str, ...] = ()
    status: Status = "published"
    translation_of: str | None = None

    def __post_init__(self) -> None:
        check_slug(self.slug)
        check_language(self.language)
        check_status(self.status)
        if not self.title.strip():
            raise ValueError("an article needs a title")
        if not self.body.strip():
            raise ValueError("an article needs a body")
        object.__setattr__(self, "tags", _texts(self.tags))
        object.__setattr__(self, "case_types", _texts(self.case_types))
        if self.translation_of is not None:
            check_slug(self.translation_of)


@dataclass(frozen=True, slots=True)
class ScriptBranch:
    """Where a step goes next when its condition (said in words for the agent) holds."""

    when: str
    goto: str


@dataclass(frozen=True, slots=True)
class ScriptStep:
    """One step of a call script: what to say, what to check in the customer's record, where to go next."""

    id: str
    say: str
    check: str | None = None
    goto: str | None = None
    branches: tuple[ScriptBranch, ...] = ()

    def to_json(self) -> dict[str, object]:
        """The step as stored (keys left out when empty)."""
        out: dict[str, object] = {"id": self.id, "say": self.say}
        if self.check is not None:
            out["check"] = self.check
        if self.goto is not None:
            out["goto"] = self.goto
        if self.branches:
            out["branches"] = [{"when": b.when, "goto": b.goto} for b in self.branches]
        return out


@dataclass(frozen=True, slots=True)
class ScriptDraft:
    """A call script for one case type in one language: ordered steps and Markdown notes for the agent."""

    slug: str
    case_type: str
    language: str
    title: str
    steps: tuple[ScriptStep, ...]
    notes: str = ""
    status: Status = "published"
    translation_of: str | None = None

    def __post_init__(self) -> None:
        check_slug(self.slug)
        check_language(self.language)
        check_status(self.status)
        if not self.case_type.strip() or not self.title.strip():
            raise ValueError("a script needs a case_type and a title")
        _check_steps(self.steps)
        if self.translation_of is not None:
            check_slug(self.translation_of)


def _check_steps(steps: tuple[ScriptStep, ...]) -> None:
    if not steps:
        raise ValueError("a script needs at least one step")
    ids = [step.id for step in steps]
    if len(set(ids)) != len(ids):
        raise ValueError(f"step ids repeat: {sorted({i for i in ids if ids.count(i) > 1})}")
    for step in steps:
        if not step.id.strip() or not step.say.strip():
            raise ValueError("every step needs an id and what to say")
        targets = [b.goto for b in step.branches] + ([step.goto] if step.goto else [])
        unknown = [t for t in targets if t not in ids]
        if unknown:
            raise ValueError(f"step {step.id!r} goes to unknown steps {unknown}")


def steps_to_json(steps: Iterable[ScriptStep]) -> list[dict[str, object]]:
    """Steps as stored in a JSON column."""
    return [step.to_json() for step in steps]


def steps_from_json(data: object) -> tuple[ScriptStep, ...]:
    """Steps from their stored (or front-matter) form; ValueError naming what is wrong."""
    if not isinstance(data, list):
        raise ValueError("steps must be a list")
    return tuple(_step(item, n) for n, item in enumerate(data, start=1))


def _step(item: object, n: int) -> ScriptStep:
    if not isinstance(item, dict):
        raise ValueError(f"step {n} must be a mapping")
    branches = item.get("branches") or []
    if not isinstance(branches, list) or not all(
        isinstance(b, dict) and "when" in b and "goto" in b for b in branches
    ):
        raise ValueError(f"step {n}: branches must be a list of {{when, goto}}")
    check, goto = item.get("check"), item.get("goto")
    return ScriptStep(
        id=str(item.get("id") or ""),
        say=str(item.get("say") or ""),
        check=None if check is None else str(check),
        goto=None if goto is None else str(goto),
        branches=tuple(ScriptBranch(str(b["when"]), str(b["goto"])) for b in branches),
    )
