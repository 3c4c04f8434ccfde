"""The widget script: served as JavaScript, self-contained, right-to-left aware, accessible."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.channels.webchat.conftest import Chat

WIDGET = Path(__file__).resolve().parents[3] / "channels" / "webchat" / "widget.js"
SOURCE = WIDGET.read_text(encoding="utf-8")


async def test_widget_is_served_as_javascript_to_any_site(chat: Chat) -> None:
    response = await chat.client.get("/webchat/widget.js", headers={"Origin": "https://any.example"})
    assert response.status == 200
    assert response.content_type == "text/javascript" and response.charset == "utf-8"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert await response.text() == SOURCE
    again = await chat.client.get("/webchat/widget.js", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status == 304


def test_widget_loads_nothing_from_elsewhere() -> None:
    assert not re.search(r"(?i)\b(?:https?:)?//[a-z0-9-]+(?:\.[a-z0-9-]+)+", SOURCE), "an absolute URL"
    for loader in (
        'createElement("script")',
        "import(",
        "importScripts",
        "fetch(",
        "XMLHttpRequest",
        "eval(",
    ):
        assert loader not in SOURCE
    assert "@import" not in SOURCE and "url(" not in SOURCE


def test_widget_is_small() -> None:
    assert len(SOURCE.encode()) < 20_000


def test_bubbles_and_input_take_their_direction_from_the_text() -> None:
    assert 'bubble.setAttribute("dir", "auto")' in SOURCE
    assert re.search(r'<textarea [^>]*dir="auto"', SOURCE)
    assert "unicode-bidi:plaintext" in SOURCE
    # Placement follows the page's direction: logical properties only, never left/right.
    assert not re.search(r"[;{](?:left|right|margin-left|margin-right):", SOURCE)


def test_widget_is_labelled_and_usable_from_the_keyboard() -> None:
    assert 'role="dialog"' in SOURCE and 'aria-labelledby="title"' in SOURCE
    assert 'role="log"' in SOURCE and 'aria-live="polite"' in SOURCE
    assert '<label class="sr" for="input">' in SOURCE and "aria-expanded" in SOURCE
    assert '"Escape"' in SOURCE and '"Enter"' in SOURCE and "focus-visible" in SOURCE
    # Visitor and agent text is never parsed as HTML.
    assert "textContent = item.text" in SOURCE
    assert SOURCE.count("innerHTML") == 1 and 'root.innerHTML = "<style>"' in SOURCE  # the static markup


def test_widget_reads_its_settings_from_its_script_tag() -> None:
    for name in ("identity", "signature", "name", "email", "title"):
        assert f"data.{name}" in SOURCE
    assert 'replace(/widget\\.js$/, "ws")' in SOURCE


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_widget_is_valid_javascript() -> None:
    subprocess.run(["node", "--check", str(WIDGET)], check=True, capture_output=True)
