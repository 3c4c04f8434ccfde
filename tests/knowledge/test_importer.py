"""Reading a knowledge-base folder: Markdown with front matter and CSV; a bad file never stops the batch."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.drafts import ArticleDraft, ScriptBranch, ScriptStep
from knowledge.importer import CaseType, ImportFailure, load_folder

DATA = Path(__file__).resolve().parents[1] / "data" / "kb"

ARTICLE = """---
id: router-restart
title: "Restarting your router"
language: en
tags: [router, restart]
case_types: [wifi_router]
short: "Unplug it for 30 seconds."
status: published
updated: 2026-10-01
---
# Restarting your router

Unplug the router and wait 30 seconds.
"""

TRANSLATION = """---
title: "הפעלה מחדש של הראוטר"
language: he
translation_of: router-restart
tags: router, restart
case_types: [wifi_router]
---
מנתקים את הראוטר לשלושים שניות.
"""

SCRIPT = """---
id: script-cancellation
case_type: cancellation
title: Cancellation call script
language: en
steps:
  - id: greet
    say: "Hello {customer_name}."
  - id: verify
    say: "Your ID number, please."
    check: identity_verified
    branches:
      - when: "caller is the holder"
        goto: close
  - id: close
    say: "Anything else?"
---
## Notes for the agent

Never refuse a cancellation.
"""

CSV = (
    "id,language,title,body,short,tags,case_types,status\n"
    'roaming,en,Roaming,"Buy a pack, then fly.",Buy a pack.,roaming;travel,roaming,published\n'
    "broken,en,,No title here,,,,published\n"
    "tv-plus,en,TV plus,Coming soon.,,tv,tv_service,draft\n"
)

CASE_TYPES = (
    "- id: wifi_router\n  title: Wi-Fi\n  sla_priority: normal\n- id: cancellation\n  title: Cancel\n"
)


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
    return root


def test_articles_and_scripts_are_read_from_markdown(tmp_path: Path) -> None:
    root = _write(
        tmp_path,
        {
            "articles/router-restart.md": ARTICLE,
            "articles/router-restart-he.md": TRANSLATION,
            "scripts/script-cancellation.md": SCRIPT,
        },
    )
    batch = load_folder(root)
    assert batch.errors == ()
    assert sorted(batch.articles, key=lambda a: a.language) == [
        ArticleDraft(
            slug="router-restart",
            language="en",
            title="Restarting your router",
            body="# Restarting your router\n\nUnplug the router and wait 30 seconds.",
            short="Unplug it for 30 seconds.",
            tags=("router", "restart"),
            case_types=("wifi_router",),
        ),
        ArticleDraft(
            slug="router-restart-he",  # from the file name when the front matter has no id
            language="he",
            title="הפעלה מחדש של הראוטר",
            body="מנתקים את הראוטר לשלושים שניות.",
            tags=("router", "restart"),
            case_types=("wifi_router",),
            translation_of="router-restart",
        ),
    ]
    (script,) = batch.scripts
    assert (script.slug, script.case_type, script.language, script.status) == (
        "script-cancellation",
        "cancellation",
        "en",
        "published",
    )
    assert script.steps[1] == ScriptStep(
        "verify",
        "Your ID number, please.",
        check="identity_verified",
        branches=(ScriptBranch("caller is the holder", "close"),),
    )
    assert script.notes == "## Notes for the agent\n\nNever refuse a cancellation."


def test_csv_rows_are_articles_and_a_bad_row_is_reported(tmp_path: Path) -> None:
    batch = load_folder(_write(tmp_path, {"articles.csv": CSV}))
    assert [a.slug for a in batch.articles] == ["roaming", "tv-plus"]
    roaming = batch.articles[0]
    assert (roaming.body, roaming.short, roaming.tags, roaming.case_types) == (
        "Buy a pack, then fly.",
        "Buy a pack.",
        ("roaming", "travel"),
        ("roaming",),
    )
    assert batch.articles[1].status == "draft"
    assert batch.errors == (ImportFailure("articles.csv:3", "'title' is missing"),)


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("articles/bad-yaml.md", "---\ntitle: [unclosed\n---\nbody", "while parsing"),
        ("articles/no-title.md", "---\nlanguage: en\n---\nbody", "'title' is missing"),
        ("articles/no-body.md", "---\ntitle: T\nlanguage: en\n---\n", "needs a body"),
        ("articles/bad-status.md", "---\ntitle: T\nlanguage: en\nstatus: live\n---\nbody", "status"),
        ("articles/Bad Name.md", "---\ntitle: T\nlanguage: en\n---\nbody", "id must be"),
        ("articles/bad-tags.md", "---\ntitle: T\nlanguage: en\ntags: {a: 1}\n---\nbody", "expected a list"),
        ("articles/latin1.md", "---\ntitle: caf\xe9\nlanguage: en\n---\nbody", "codec"),
        (
            "scripts/bad-goto.md",
            "---\ntitle: S\nlanguage: en\ncase_type: c\nsteps:\n  - {id: a, say: x, goto: b}\n---\n",
            "unknown steps",
        ),
        ("scripts/no-steps.md", "---\ntitle: S\nlanguage: en\ncase_type: c\n---\n", "'steps' is missing"),
    ],
)
def test_a_bad_file_is_reported_and_the_rest_imported(
    tmp_path: Path, name: str, content: str, reason: str
) -> None:
    _write(tmp_path, {"articles/router-restart.md": ARTICLE, "scripts/script-cancellation.md": SCRIPT})
    path = tmp_path / name
    if name.endswith("latin1.md"):
        path.write_bytes(content.encode("latin-1"))
    else:
        _write(tmp_path, {name: content})
    batch = load_folder(tmp_path)
    assert [a.slug for a in batch.articles] == ["router-restart"]
    assert [s.slug for s in batch.scripts] == ["script-cancellation"]
    (failure,) = batch.errors
    assert failure.file == name and reason in failure.reason


def test_a_spreadsheets_byte_order_mark_is_no_problem(tmp_path: Path) -> None:
    (tmp_path / "articles.csv").write_bytes(b"\xef\xbb\xbf" + CSV.encode())
    assert [a.slug for a in load_folder(tmp_path).articles] == ["roaming", "tv-plus"]


def test_an_id_used_twice_is_reported_once(tmp_path: Path) -> None:
    csv = "id,language,title,body\nrouter-restart,en,Again,Another body\n"
    batch = load_folder(_write(tmp_path, {"articles/router-restart.md": ARTICLE, "articles.csv": csv}))
    assert [a.title for a in batch.articles] == ["Restarting your router"]
    assert batch.errors == (ImportFailure("articles.csv:2", "article id 'router-restart' is used twice"),)


def test_case_types_are_read_and_enforced_when_listed(tmp_path: Path) -> None:
    other = ARTICLE.replace("id: router-restart", "id: other").replace("[wifi_router]", "[tv_service]")
    root = _write(
        tmp_path,
        {
            "case_types.yaml": CASE_TYPES,
            "articles/router-restart.md": ARTICLE,
            "articles/other.md": other,
            "scripts/script-cancellation.md": SCRIPT,
        },
    )
    batch = load_folder(root)
    assert batch.case_types == (
        CaseType("wifi_router", "Wi-Fi", "normal"),
        CaseType("cancellation", "Cancel"),
    )
    assert [a.slug for a in batch.articles] == ["router-restart"]
    assert batch.errors == (
        ImportFailure("articles/other.md", "unknown case types ['tv_service'] (not in case_types.yaml)"),
    )


def test_a_missing_folder_is_one_failure(tmp_path: Path) -> None:
    batch = load_folder(tmp_path / "nope")
    assert batch.articles == () and batch.scripts == () and len(batch.errors) == 1


@pytest.mark.skipif(not (DATA / "articles").is_dir(), reason="tests/data/kb is not there")
def test_the_evaluation_knowledge_base_imports_cleanly() -> None:
    batch = load_folder(DATA)
    assert batch.errors == ()
    assert len(batch.articles) >= 100 and len(batch.scripts) >= 10
    assert {a.language for a in batch.articles} == {"en", "he", "fa", "ar"}
    assert all(a.short for a in batch.articles)
