"""X-Twilio-Signature: Twilio's own known-answer vectors, and the rules they do not cover."""

from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import urlencode

import pytest

from channels._twilio.signature import form_fields, signed_url
from channels.twilio_sms.signature import is_json_signed, verify_signature
from hub.errors import Unauthorized
from tests.channels.twilio_sms.fake_twilio import twilio_signature
from tests.corpus import corpus_bytes, corpus_json

TOKEN = "test-token"
URL = "https://hub.example.com/webhooks/twilio_sms"
VECTORS = corpus_json("twilio", "signature_vectors.json")


def _vector_body(vector: dict[str, Any]) -> bytes:
    if "params_file" in vector:
        return urlencode(corpus_json("twilio", vector["params_file"])).encode()
    return corpus_bytes("twilio", vector["body_file"])


def _verify(url: str, body: bytes, signature: str | None, **kwargs: Any) -> None:
    kwargs.setdefault("auth_token", TOKEN)
    kwargs.setdefault("settings_header", None)
    verify_signature(url=url, body=body, signature=signature, **kwargs)


@pytest.mark.parametrize(
    "vector", VECTORS, ids=["form-params", "json-bodySHA256", "url-with-443", "twiligo-raw-post"]
)
def test_known_answer_vectors_verify(vector: dict[str, Any]) -> None:
    body = _vector_body(vector)
    _verify(vector["url"], body, vector["x_twilio_signature"], auth_token=vector["auth_token"])


@pytest.mark.parametrize("vector", VECTORS, ids=["form", "json", "port", "twiligo"])
def test_known_answer_vectors_fail_with_another_token(vector: dict[str, Any]) -> None:
    with pytest.raises(Unauthorized):
        _verify(vector["url"], _vector_body(vector), vector["x_twilio_signature"], auth_token="wrong")


def test_the_fakes_signer_matches_twilios_vector() -> None:
    # The tests sign with fake_twilio.twilio_signature: it must agree with Twilio's own answer.
    vector = VECTORS[0]
    params = corpus_json("twilio", vector["params_file"])
    assert twilio_signature(vector["url"], params, vector["auth_token"]) == vector["x_twilio_signature"]


def test_json_body_must_match_its_hash() -> None:
    vector = VECTORS[1]
    with pytest.raises(Unauthorized):
        _verify(vector["url"], b'{"property": "other"}', vector["x_twilio_signature"], auth_token="12345")


def test_every_received_field_is_signed_even_unknown_ones() -> None:
    fields = [("Body", "hi"), ("From", "+15005550006"), ("BrandNewField2031", "x")]
    signature = twilio_signature(URL, fields, TOKEN)
    _verify(URL, urlencode(fields).encode(), signature)
    with pytest.raises(Unauthorized):
        _verify(URL, urlencode(fields[:2]).encode(), signature)


def test_repeated_fields_are_all_signed() -> None:
    fields = [("MediaUrl", "https://a.example/1"), ("MediaUrl", "https://a.example/2"), ("To", "+1")]
    signature = twilio_signature(URL, fields, TOKEN)
    _verify(URL, urlencode(fields).encode(), signature)
    with pytest.raises(Unauthorized):
        _verify(URL, urlencode(fields[1:]).encode(), signature)


def test_empty_values_are_signed() -> None:
    fields = [("Body", "hi"), ("FromCity", ""), ("FromZip", "")]
    _verify(URL, urlencode(fields).encode(), twilio_signature(URL, fields, TOKEN))


def test_tampered_body_is_refused() -> None:
    fields = [("Body", "pay 10"), ("From", "+15005550006")]
    signature = twilio_signature(URL, fields, TOKEN)
    with pytest.raises(Unauthorized) as caught:
        _verify(URL, urlencode([("Body", "pay 1000"), ("From", "+15005550006")]).encode(), signature)
    assert caught.value.code == "bad_signature"


@pytest.mark.parametrize("header", [None, ""])
def test_missing_signature_is_refused(header: str | None) -> None:
    with pytest.raises(Unauthorized) as caught:
        _verify(URL, b"Body=hi", header)
    assert caught.value.code == "missing_signature"


def test_signed_without_port_verifies_with_port_and_back() -> None:
    fields = [("Body", "hi")]
    _verify(URL.replace(".com/", ".com:443/"), b"Body=hi", twilio_signature(URL, fields, TOKEN))
    with_port = URL.replace(".com/", ".com:443/")
    _verify(URL, b"Body=hi", twilio_signature(with_port, fields, TOKEN))


def test_shared_key_variant_is_hmac_sha256_with_the_shared_key() -> None:
    fields = [("Body", "hi"), ("From", "+15005550006")]
    signature = twilio_signature(URL, fields, "shared-secret", algorithm="HMAC_SHA256")
    header = "key=webhooks_sharedkey_123,algorithm=HMAC_SHA256"
    body = urlencode(fields).encode()
    _verify(URL, body, signature, settings_header=header, shared_key="shared-secret")
    with pytest.raises(Unauthorized):
        _verify(URL, body, signature, settings_header=header, shared_key="another-secret")
    with pytest.raises(Unauthorized):  # the same bytes as a legacy SHA-1 signature are not accepted
        _verify(
            URL,
            body,
            twilio_signature(URL, fields, "shared-secret"),
            settings_header=header,
            shared_key="shared-secret",
        )


def test_shared_key_signature_without_a_configured_key_is_refused() -> None:
    fields = [("Body", "hi")]
    signature = twilio_signature(URL, fields, TOKEN, algorithm="HMAC_SHA256")
    with pytest.raises(Unauthorized):
        _verify(URL, b"Body=hi", signature, settings_header="key=k,algorithm=HMAC_SHA256")


def test_form_fields_keep_order_repeats_and_blanks() -> None:
    fields = form_fields(b"B=2&A=1&B=3&Empty=&Plus=a+b%2Bc")
    assert list(fields.items()) == [("B", "2"), ("A", "1"), ("B", "3"), ("Empty", ""), ("Plus", "a b+c")]


def test_json_signed_is_recognised_by_the_body_hash_in_the_query() -> None:
    digest = hashlib.sha256(b"{}").hexdigest()
    assert is_json_signed(f"{URL}?bodySHA256={digest}")
    assert not is_json_signed(URL + "?x=1")


@pytest.mark.parametrize(
    ("public_url", "scheme", "host", "forwarded", "expected"),
    [
        # SWITCHBOARD_PUBLIC_URL wins, a path prefix and trailing slash included.
        ("https://hub.example.com/sb/", "http", "10.0.0.5:8080", None, "https://hub.example.com/sb/p?q=1"),
        # Behind a TLS-terminating proxy: the scheme Twilio used, the Host it asked for.
        (None, "http", "hub.example.com", "https", "https://hub.example.com/p?q=1"),
        (None, "http", "hub.example.com", "https, http", "https://hub.example.com/p?q=1"),
        (None, "http", "hub.example.com:8443", "HTTPS", "https://hub.example.com:8443/p?q=1"),
        # No proxy, or a header that is not a scheme: the request's own URL.
        (None, "http", "127.0.0.1:8080", None, "http://127.0.0.1:8080/p?q=1"),
        (None, "http", "127.0.0.1:8080", "gopher", "http://127.0.0.1:8080/p?q=1"),
    ],
)
def test_signed_url_is_the_public_url(
    public_url: str | None, scheme: str, host: str, forwarded: str | None, expected: str
) -> None:
    url = signed_url(
        public_url=public_url, scheme=scheme, host=host, path_qs="/p?q=1", forwarded_proto=forwarded
    )
    assert url == expected
