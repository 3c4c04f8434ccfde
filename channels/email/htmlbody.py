"""HTML bodies: sanitized for the console (nh3), and as text without quoted history (inscriptis). Pure."""

from __future__ import annotations

import re
from typing import Any

import nh3
from inscriptis import Inscriptis  # type: ignore[import-untyped]
from inscriptis.model.config import ParserConfig  # type: ignore[import-untyped]
from lxml import etree  # type: ignore[import-untyped]
from lxml import html as lxml_html

__all__ = ["html_charset", "html_to_text", "sanitize_html"]

# Images only from the message itself (``cid:``): a remote image is a tracking pixel when an agent opens
# the conversation. Links keep the usual safe schemes.
_URL_SCHEMES = {"http", "https", "mailto", "tel", "cid"}
_ATTRIBUTES: dict[str, set[str]] = {
    **{tag: set(attrs) for tag, attrs in nh3.ALLOWED_ATTRIBUTES.items()},
    # Hebrew, Persian and Arabic mail carries its direction in dir=: without it the console shows it LTR.
    "*": {"dir", "lang", "title"},
}
_TAGS = set(nh3.ALLOWED_TAGS) - {"head"}
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.IGNORECASE)

# Containers of quoted history that mail clients write into HTML replies.
_QUOTE_XPATH = " | ".join(
    [
        "//div[contains(concat(' ', normalize-space(@class), ' '), ' gmail_quote ')]",  # Gmail
        "//div[contains(concat(' ', normalize-space(@class), ' '), ' gmail_quote_container ')]",
        "//blockquote[@type='cite']",  # Apple Mail, Thunderbird
        "//div[contains(concat(' ', normalize-space(@class), ' '), ' moz-cite-prefix ')]",  # Thunderbird
        "//div[contains(concat(' ', normalize-space(@class), ' '), ' yahoo_quoted ')]",  # Yahoo
    ]
)
# Outlook puts the quoted message after this marker, as siblings: everything from it on is history.
_OUTLOOK_XPATH = "//div[@id='divRplyFwdMsg' or @id='appendonsend']"
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*>")
_CONFIG = ParserConfig(display_links=False, display_images=False)


def html_charset(data: bytes) -> str | None:
    """The charset an HTML document declares in its ``<meta>`` (for a part whose MIME header names none)."""
    match = _META_CHARSET.search(data[:4096])
    return match.group(1).decode("ascii") if match else None


def _keep_attribute(tag: str, attribute: str, value: str) -> str | None:
    if tag == "img" and attribute == "src" and not value.lower().startswith("cid:"):
        return None
    return value


def sanitize_html(html: str) -> str:
    """HTML safe to show in the console: no scripts, styles, event handlers or remote images."""
    return nh3.clean(
        html,
        tags=_TAGS,
        clean_content_tags={"script", "style", "title", "head"},
        attributes=_ATTRIBUTES,
        attribute_filter=_keep_attribute,
        url_schemes=_URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
    ).strip()


def _drop_history(tree: Any) -> None:
    for element in tree.xpath(_QUOTE_XPATH):
        parent = element.getparent()
        if parent is not None:
            parent.remove(element)
    for marker in tree.xpath(_OUTLOOK_XPATH):
        parent = marker.getparent()
        if parent is None:
            continue
        for sibling in [marker, *marker.itersiblings()]:
            parent.remove(sibling)


def html_to_text(html: str, *, trim_quotes: bool = True) -> str:
    """The readable text of an HTML body; with ``trim_quotes``, without the quoted history it carries."""
    html = _XML_DECLARATION.sub("", html)
    if not html.strip():
        return ""
    try:
        tree = lxml_html.document_fromstring(html)
    except (etree.ParserError, ValueError):
        return ""
    if trim_quotes:
        _drop_history(tree)
    text: str = Inscriptis(tree, _CONFIG).get_text()
    lines = [line.rstrip() for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
