"""Visitor tokens and signed identities, with known answers computed by openssl."""

from __future__ import annotations

import pytest

from channels.webchat.tokens import (
    identity_message,
    issue_token,
    new_visitor_id,
    read_token,
    sign_identity,
    verify_identity,
)
from hub.errors import Unauthorized
from tests.channels.webchat.conftest import IDENTITY_SECRET, SECRET

VISITOR = "AAAAAAAAAAAAAAAAAAAAAA"
# printf 'webchat-visitor|v1|default|AAAAAAAAAAAAAAAAAAAAAA' \
#   | openssl dgst -sha256 -hmac visitor-secret-0123456789 -binary | base64 | tr '+/' '-_' | tr -d =
TOKEN = "v1.AAAAAAAAAAAAAAAAAAAAAA.HWo0cPmBbypUcw9GfYK2z51diZbGB_EaHbiFTa3Jvmo"


def test_token_is_the_documented_hmac() -> None:
    assert issue_token(SECRET, "default", VISITOR) == TOKEN


def test_token_round_trips() -> None:
    visitor_id = new_visitor_id()
    assert read_token(SECRET, "default", issue_token(SECRET, "default", visitor_id)) == visitor_id


def test_visitor_ids_are_random_and_url_safe() -> None:
    ids = {new_visitor_id() for _ in range(100)}
    assert len(ids) == 100
    assert all(len(i) == 22 and i.replace("-", "").replace("_", "").isalnum() for i in ids)


@pytest.mark.parametrize(
    "token",
    [
        "",
        "nonsense",
        TOKEN.replace("v1.", "v2."),
        "v1.BAAAAAAAAAAAAAAAAAAAAA." + TOKEN.split(".")[2],  # another visitor id, same mac
        TOKEN[:-1] + ("A" if TOKEN[-1] != "A" else "B"),  # mac changed
        "v1." + VISITOR + ".",
        "v1.short." + TOKEN.split(".")[2],
        TOKEN + ".extra",
        issue_token("another-secret-0123456789", "default", VISITOR),
    ],
)
def test_forged_or_tampered_token_is_refused(token: str) -> None:
    with pytest.raises(Unauthorized) as caught:
        read_token(SECRET, "default", token)
    assert caught.value.code == "bad_token"


def test_token_of_another_account_is_refused() -> None:
    with pytest.raises(Unauthorized):
        read_token(SECRET, "brand-b", TOKEN)


# printf 'cust-42' | openssl dgst -sha256 -hmac identity-secret-0123456789
ID_ONLY = "78fd565f4096ecb571009ac8312314974784d4c195e70ebf485f70d518ecee4e"
# printf 'cust-42|dana@example.com' | openssl dgst -sha256 -hmac identity-secret-0123456789
ID_AND_EMAIL = "57c48315aa789189586cefd6af9e78225ff49b252af7055c6a9fdd60b07c02ae"
# printf 'לקוח-7|דנה@דוגמה.ישראל' | openssl dgst -sha256 -hmac identity-secret-0123456789  (UTF-8)
HEBREW = "8782413eead88c2113d46f23a0d1de9e6e9cf86b491a1e621f44058ab480f1fa"


@pytest.mark.parametrize(
    ("user_id", "email", "signature"),
    [
        ("cust-42", None, ID_ONLY),
        ("cust-42", "dana@example.com", ID_AND_EMAIL),
        ("לקוח-7", "דנה@דוגמה.ישראל", HEBREW),
    ],
)
def test_identity_signature_known_answers(user_id: str, email: str | None, signature: str) -> None:
    assert sign_identity(IDENTITY_SECRET, user_id, email) == signature
    verify_identity(IDENTITY_SECRET, user_id, email, signature)
    verify_identity(IDENTITY_SECRET, user_id, email, signature.upper())


def test_identity_message_is_the_id_or_id_bar_email() -> None:
    assert identity_message("cust-42", None) == b"cust-42"
    assert identity_message("cust-42", "a@b.example") == b"cust-42|a@b.example"


@pytest.mark.parametrize(
    ("user_id", "email", "signature"),
    [
        ("cust-43", None, ID_ONLY),  # another customer
        ("cust-42", "mallory@example.com", ID_ONLY),  # an email the site did not sign
        ("cust-42", "mallory@example.com", ID_AND_EMAIL),
        ("cust-42", None, ID_AND_EMAIL),
        ("cust-42", None, ""),
        ("cust-42", None, "not hex"),
        ("cust-42", None, sign_identity("another-secret-0123456789", "cust-42")),
    ],
)
def test_forged_identity_signature_is_refused(user_id: str, email: str | None, signature: str) -> None:
    with pytest.raises(Unauthorized) as caught:
        verify_identity(IDENTITY_SECRET, user_id, email, signature)
    assert caught.value.code == "bad_identity_signature"
