"""hub/api/openapi.json: a valid OpenAPI 3.1 file that documents every route, and that real answers match.

The answers are checked on the embedded default (SQLite + in-process bus) and scaled out (PostgreSQL + Redis).
"""

from __future__ import annotations

import json
import uuid
from datetime import date
from importlib.resources import files
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from aiohttp import web
from openapi_schema_validator import OAS31Validator, oas31_format_checker
from openapi_spec_validator import OpenAPIV31SpecValidator, validate
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from sqlalchemy import insert

from crm_core.db import new_id
from crm_core.models import Agreement, Case, ContactTag, SlaTier, Tag
from hub.app import create_app
from hub.keys import DATABASE
from hub.messages import utcnow
from hub.settings import load_settings
from tests.hub.conftest import API_SECRET, Hub

SPEC: dict[str, Any] = json.loads(files("hub.api").joinpath("openapi.json").read_bytes())
SPEC_URI = "https://switchboard.invalid/api/v1/openapi.json"
REGISTRY: Registry[Any] = Registry().with_resource(
    SPEC_URI, Resource.from_contents(SPEC, default_specification=DRAFT202012)
)
METHODS = {"get", "put", "post", "delete", "patch", "options", "head", "trace"}
WEBHOOK = ("POST", "/webhooks/api")


def _pointer(*parts: str) -> str:
    return "".join("/" + quote(part.replace("~", "~0").replace("/", "~1")) for part in parts)


def _response_schema(method: str, path: str, status: int) -> OAS31Validator:
    """A validator for the documented JSON body of ``method path`` answering ``status``, $refs resolved."""
    where = ("paths", path, method.lower(), "responses", str(status))
    response = REGISTRY.resolver(SPEC_URI).lookup(f"{SPEC_URI}#{_pointer(*where)}").contents
    if "$ref" in response:
        where = tuple(response["$ref"].removeprefix("#/").split("/"))
    schema = {"$ref": f"{SPEC_URI}#{_pointer(*where, 'content', 'application/json', 'schema')}"}
    return OAS31Validator(schema, registry=REGISTRY, format_checker=oas31_format_checker)


async def _check(response: Any, method: str, path: str) -> Any:
    """The response's JSON body, after checking it against what the spec documents for its status."""
    body = await response.json()
    errors = sorted(_response_schema(method, path, response.status).iter_errors(body), key=str)
    assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors]
    return body


def _registered_routes(app: web.Application) -> set[tuple[str, str]]:
    """(method, path) of every route of the app and its sub-apps; HEAD goes with GET."""
    found: set[tuple[str, str]] = set()
    for resource in app.router.resources():
        info = resource.get_info()
        if isinstance(info.get("app"), web.Application):
            found |= _registered_routes(info["app"])
    for route in app.router.routes():
        if route.method != "HEAD" and route.resource is not None and route.resource.canonical:
            found.add((route.method, route.resource.canonical))
    return found


def _documented_routes() -> set[tuple[str, str]]:
    return {
        (method.upper(), path) for path, item in SPEC["paths"].items() for method in item if method in METHODS
    }


def test_the_file_is_valid_openapi_3_1() -> None:
    validate(SPEC, cls=OpenAPIV31SpecValidator)
    assert SPEC["openapi"].startswith("3.1")


def test_every_api_route_is_documented_and_every_documented_route_exists(tmp_path: Path) -> None:
    settings = load_settings({"SWITCHBOARD_DATA_DIR": str(tmp_path), "SWITCHBOARD_MODELS": "false"})
    app = create_app(settings, {"SWITCHBOARD_API_SECRET": API_SECRET})
    registered = _registered_routes(app)
    api_routes = {(method, path) for method, path in registered if path.startswith("/api/v1/")}
    assert len(api_routes) >= 8
    assert WEBHOOK in registered
    assert _documented_routes() == api_routes | {WEBHOOK}


def test_every_operation_documents_its_errors_with_the_error_schema() -> None:
    for path, item in SPEC["paths"].items():
        for method, operation in item.items():
            if method not in METHODS:
                continue
            statuses = set(operation["responses"])
            assert operation.get("security") == [] or {"401", "403"} <= statuses, (method, path)
            for status in {s for s in statuses if not s.startswith("2")}:
                validator = _response_schema(method, path, int(status))
                assert validator.is_valid({"error": "not_found", "detail": "no such contact"}), (path, status)
                assert not validator.is_valid({"detail": "no code"}), (method, path, status)


async def test_the_served_file_is_this_file_and_needs_no_token(hub: Hub) -> None:
    response = await hub.client.get("/api/v1/openapi.json")
    assert response.status == 200
    assert await response.json() == SPEC


async def _seed_extras(hub: Hub, contact_id: str) -> None:
    """An agreement, an open case and a tag, so the 360's nested parts are not empty lists."""
    now = utcnow()
    async with hub.app[DATABASE].writer.begin() as conn:
        await conn.execute(
            insert(SlaTier).values(name="gold", first_response_seconds=900, resolution_seconds=28800)
        )
        await conn.execute(
            insert(Agreement).values(
                id=new_id(),
                contact_id=uuid.UUID(contact_id),
                organisation_id=None,
                product="Fibre 1G",
                sla_tier="gold",
                entitlements=["24/7 phone"],
                payment_plan="monthly",
                payment_status="current",
                starts_on=date(2026, 1, 1),
                ends_on=None,
                created_at=now,
            )
        )
        await conn.execute(
            insert(Case).values(
                id=new_id(),
                contact_id=uuid.UUID(contact_id),
                conversation_id=None,
                type="support",
                step="triage",
                status="open",
                priority="high",
                title="No signal",
                opened_at=now,
                due_at=None,
                closed_at=None,
            )
        )
        tag = new_id()
        await conn.execute(insert(Tag).values(id=tag, name="vip"))
        await conn.execute(insert(ContactTag).values(contact_id=uuid.UUID(contact_id), tag_id=tag))


async def test_real_answers_match_their_documented_schemas(hub: Hub) -> None:
    message = {
        "message_id": "m-1",
        "sender": {"id": "crm-1", "name": "دنا", "email": "dana@example.com"},
        "text": "hello",
        "sent_at": "2026-03-01T10:00:00+02:00",
    }
    request_schema = OAS31Validator(
        {"$ref": f"{SPEC_URI}#/components/schemas/ApiMessage"},
        registry=REGISTRY,
        format_checker=oas31_format_checker,
    )
    request_schema.validate(message)
    stored = await _check(await hub.send(message), "POST", "/webhooks/api")
    await _check(await hub.send(b"[]"), "POST", "/webhooks/api")
    await _check(await hub.send(message, signature=None), "POST", "/webhooks/api")
    await _seed_extras(hub, stored["contact_id"])

    contact, conversation = stored["contact_id"], stored["conversation_id"]
    view = await _check(await hub.get(f"/api/v1/contacts/{contact}/360"), "GET", "/api/v1/contacts/{id}/360")
    assert [len(view[k]) for k in ("identities", "agreements", "open_cases", "recent_interactions")] == [
        1
    ] * 4
    assert view["agreements"][0]["starts_on"] == "2026-01-01"
    page = await _check(await hub.get("/api/v1/contacts?q=dana"), "GET", "/api/v1/contacts")
    assert [c["id"] for c in page["items"]] == [contact]
    await _check(await hub.get(f"/api/v1/contacts/{contact}"), "GET", "/api/v1/contacts/{id}")
    await _check(await hub.get("/api/v1/conversations"), "GET", "/api/v1/conversations")
    await _check(await hub.get(f"/api/v1/conversations/{conversation}"), "GET", "/api/v1/conversations/{id}")
    interactions = await _check(
        await hub.get(f"/api/v1/conversations/{conversation}/interactions"),
        "GET",
        "/api/v1/conversations/{id}/interactions",
    )
    assert interactions["items"][0]["occurred_at"] == "2026-03-01T08:00:00+00:00"

    missing = await hub.get(f"/api/v1/contacts/{uuid.uuid4()}/360")
    assert (await _check(missing, "GET", "/api/v1/contacts/{id}/360"))["error"] == "not_found"
    bad = await hub.get("/api/v1/conversations?limit=0")
    assert (await _check(bad, "GET", "/api/v1/conversations"))["error"] == "invalid_parameter"
    anonymous = await hub.client.get("/api/v1/contacts")
    assert (await _check(anonymous, "GET", "/api/v1/contacts"))["error"] == "missing_token"


@pytest.mark.parametrize(
    ("schema", "value"),
    [
        ("Interaction", {"id": "not-an-id"}),
        ("ContactSummary", {"id": str(uuid.uuid4()), "unexpected": 1}),
        ("Error", {"error": "x"}),
    ],
)
def test_the_schemas_reject_what_the_api_never_answers(schema: str, value: dict[str, Any]) -> None:
    validator = OAS31Validator(
        {"$ref": f"{SPEC_URI}#/components/schemas/{schema}"},
        registry=REGISTRY,
        format_checker=oas31_format_checker,
    )
    assert not validator.is_valid(value)
