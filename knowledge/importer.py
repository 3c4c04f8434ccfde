"""Reading a knowledge-base folder into drafts: Markdown with YAML front matter, and a CSV of articles.

Layout: ``articles/*.md``, ``scripts/*.md``, optionally ``articles.csv`` (columns id, language, title, body,
short, tags, case_types, status and optionally translation_of; tags and case types ``;``-separated) and
``case_types.yaml`` (a list of ``{id, title, sla_priority}``; when present, every article's case types and
every script's case type must be listed there). A bad file or row is reported and skipped; the rest is
read. Pure apart from reading files: it blocks, so the hub runs it in a thread.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import frontmatter
import yaml

from .drafts import ArticleDraft, ScriptDraft, check_status, steps_from_json

__all__ = ["CaseType", "ImportBatch", "ImportFailure", "load_folder"]


class ImportFailure(NamedTuple):
    """A file (or ``file:row``) that was not imported, and why."""

    file: str
    reason: str


@dataclass(frozen=True, slots=True)
class CaseType:
    """A case type the knowledge base's articles and scripts may name."""

    id: str
    title: str
    sla_priority: str | None = None


@dataclass(frozen=True, slots=True)
class ImportBatch:
    """Everything a folder held: drafts to upsert, the case types, and what could not be read."""

    articles: tuple[ArticleDraft, ...]
    scripts: tuple[ScriptDraft, ...]
    errors: tuple[ImportFailure, ...]
    case_types: tuple[CaseType, ...] = ()


def _text_list(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(v.strip() for v in value.replace(";", ",").split(",") if v.strip())
    if isinstance(value, list):
        return tuple(str(v) for v in value)
    raise ValueError(f"expected a list, got {type(value).__name__}")


def _optional(meta: Mapping[str, Any], key: str) -> str | None:
    value = meta.get(key)
    return None if value is None or str(value).strip() == "" else str(value).strip()


def _article(meta: Mapping[str, Any], body: str, default_slug: str) -> ArticleDraft:
    for key in ("title", "language"):
        if not _optional(meta, key):
            raise ValueError(f"'{key}' is missing")
    return ArticleDraft(
        slug=str(meta.get("id") or default_slug),
        language=str(meta["language"]),
        title=str(meta["title"]),
        body=body.strip(),
        short=str(meta.get("short") or "").strip(),
        tags=_text_list(meta.get("tags")),
        case_types=_text_list(meta.get("case_types")),
        status=check_status(str(meta.get("status") or "published")),
        translation_of=_optional(meta, "translation_of"),
    )


def _script(meta: Mapping[str, Any], notes: str, default_slug: str) -> ScriptDraft:
    for key in ("title", "language", "case_type", "steps"):
        if not meta.get(key):
            raise ValueError(f"'{key}' is missing")
    return ScriptDraft(
        slug=str(meta.get("id") or default_slug),
        case_type=str(meta["case_type"]),
        language=str(meta["language"]),
        title=str(meta["title"]),
        steps=steps_from_json(meta["steps"]),
        notes=notes.strip(),
        status=check_status(str(meta.get("status") or "published")),
        translation_of=_optional(meta, "translation_of"),
    )


def _csv_rows(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    # utf-8-sig: a spreadsheet's "CSV UTF-8" export starts with a byte-order mark.
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = {"id", "language", "title", "body"} - set(reader.fieldnames or ())
        if missing:
            raise ValueError(f"columns missing: {sorted(missing)}")
        for row in reader:
            yield f"{path.name}:{reader.line_num}", {k: v for k, v in row.items() if k is not None}


def _case_types(path: Path) -> tuple[CaseType, ...]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    if not isinstance(data, list) or not all(isinstance(d, dict) and d.get("id") for d in data):
        raise ValueError("expected a list of {id, title, sla_priority}")
    return tuple(CaseType(str(d["id"]), str(d.get("title") or d["id"]), d.get("sla_priority")) for d in data)


class _Collector:
    """Gathers drafts and failures; rejects repeated ids and unknown case types."""

    def __init__(self, root: Path, known_case_types: Iterable[str] | None) -> None:
        self.root = root
        self.known = None if known_case_types is None else frozenset(known_case_types)
        self.articles: dict[str, ArticleDraft] = {}
        self.scripts: dict[str, ScriptDraft] = {}
        self.errors: list[ImportFailure] = []

    def name(self, path: Path | str) -> str:
        return str(path.relative_to(self.root)) if isinstance(path, Path) else path

    def fail(self, where: Path | str, err: Exception) -> None:
        self.errors.append(ImportFailure(self.name(where), str(err) or type(err).__name__))

    def _check_case_types(self, names: Iterable[str]) -> None:
        unknown = sorted(set(names) - self.known) if self.known is not None else []
        if unknown:
            raise ValueError(f"unknown case types {unknown} (not in case_types.yaml)")

    def add_article(self, draft: ArticleDraft) -> None:
        self._check_case_types(draft.case_types)
        if draft.slug in self.articles:
            raise ValueError(f"article id {draft.slug!r} is used twice")
        self.articles[draft.slug] = draft

    def add_script(self, draft: ScriptDraft) -> None:
        self._check_case_types([draft.case_type])
        if draft.slug in self.scripts:
            raise ValueError(f"script id {draft.slug!r} is used twice")
        self.scripts[draft.slug] = draft


def _read_markdown(found: _Collector, folder: Path, *, scripts: bool) -> None:
    for path in sorted(folder.glob("*.md")) if folder.is_dir() else []:
        try:
            post = frontmatter.loads(path.read_text(encoding="utf-8"))
            meta, content = dict(post.metadata), post.content
            if scripts:
                found.add_script(_script(meta, content, path.stem))
            else:
                found.add_article(_article(meta, content, path.stem))
        except (OSError, UnicodeDecodeError, yaml.YAMLError, ValueError, TypeError) as err:
            found.fail(path, err)


def _read_csv(found: _Collector, path: Path) -> None:
    try:
        for where, row in _csv_rows(path):
            try:
                found.add_article(_article(row, str(row.get("body") or ""), ""))
            except (ValueError, TypeError) as err:
                found.fail(where, err)
    except (OSError, UnicodeDecodeError, csv.Error, ValueError) as err:
        found.fail(path, err)


def load_folder(path: str | Path) -> ImportBatch:
    """Read a knowledge-base folder; every readable article and script, and a failure for each bad one."""
    root = Path(path)
    if not root.is_dir():
        return ImportBatch((), (), (ImportFailure(str(root), "not a folder"),))
    case_types: tuple[CaseType, ...] = ()
    found = _Collector(root, None)
    if (root / "case_types.yaml").is_file():
        try:
            case_types = _case_types(root / "case_types.yaml")
            found.known = frozenset(c.id for c in case_types)
        except (OSError, UnicodeDecodeError, yaml.YAMLError, ValueError) as err:
            found.fail(root / "case_types.yaml", err)
    _read_markdown(found, root / "articles", scripts=False)
    if (root / "articles.csv").is_file():
        _read_csv(found, root / "articles.csv")
    _read_markdown(found, root / "scripts", scripts=True)
    return ImportBatch(
        tuple(found.articles.values()), tuple(found.scripts.values()), tuple(found.errors), case_types
    )
