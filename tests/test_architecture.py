"""Every import follows the arrows drawn in shared/ARCHITECTURE.md.

- ``crm_core`` and ``knowledge`` import nothing of ours (beyond themselves).
- ``channels/<name>/`` imports only ``hub.contract``, ``hub.messages``, ``hub.errors``, its own package,
  shared provider packages ``channels/_<provider>/`` and third-party or standard modules: never ``crm_core``,
  ``knowledge``, ``redis``, another channel or the rest of ``hub``.
- A shared provider package ``channels/_<provider>/`` holds what the channels of one provider share (the
  registry skips names starting with ``_``, so it is no channel). It obeys a channel's rules, and imports
  no channel and no other shared package.
- The leaf modules ``hub.contract``, ``hub.messages`` and ``hub.errors`` import only the standard
  library, ``aiohttp`` and each other.
- The rest of ``hub`` wires everything and may import anything.

Imports are read with ``ast``, never executed: ``import x``, ``from x import y`` (relative ones resolved),
and ``importlib.import_module("literal")`` / ``__import__("literal")``; imports under ``TYPE_CHECKING``
count too.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
OURS = ("hub", "channels", "crm_core", "knowledge")
LEAF_MODULES = ("hub.contract", "hub.messages", "hub.errors")
STDLIB = frozenset(sys.stdlib_module_names)


@dataclass(frozen=True, slots=True)
class Import:
    """One module that ``importer`` imports, at ``line`` of its file."""

    importer: str
    target: str
    line: int


@dataclass(frozen=True, slots=True)
class Violation:
    """An import that the architecture forbids."""

    path: str
    line: int
    importer: str
    target: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.importer} -> {self.target}: {self.reason}"


def _top(name: str) -> str:
    return name.split(".", 1)[0]


def _within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def _is_shared_provider(name: str) -> bool:
    """Whether ``name`` is in a shared provider package, ``channels._<provider>``: code, not a channel."""
    parts = name.split(".")
    return len(parts) > 1 and parts[0] == "channels" and parts[1].startswith("_")


def module_name(path: Path, root: Path = REPO_ROOT) -> tuple[str, bool]:
    """The dotted module name of a source file and whether it is a package's ``__init__``."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    is_package = parts[-1] == "__init__"
    if is_package:
        parts.pop()
    return ".".join(parts), is_package


def module_exists_on_disk(name: str, root: Path = REPO_ROOT) -> bool:
    """Whether ``name`` is one of our modules or packages (so ``from pkg import name`` imports a module)."""
    base = root.joinpath(*name.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def _resolve_relative(module: str, is_package: bool, level: int, name: str | None) -> str:
    package_parts = module.split(".") if is_package else module.split(".")[:-1]
    if level - 1 > len(package_parts) - 1:
        raise ValueError(f"relative import beyond the top-level package in {module}")
    base = package_parts[: len(package_parts) - (level - 1)]
    return ".".join([*base, name] if name else base)


def _literal_import_call(node: ast.Call) -> tuple[str, str | None] | None:
    """``(name, package)`` of ``importlib.import_module("x", ...)`` or ``__import__("x")``, else None."""
    func = node.func
    is_import_module = (isinstance(func, ast.Attribute) and func.attr == "import_module") or (
        isinstance(func, ast.Name) and func.id == "import_module"
    )
    is_dunder_import = isinstance(func, ast.Name) and func.id == "__import__"
    if not (is_import_module or is_dunder_import) or not node.args:
        return None
    first = node.args[0]
    if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
        return None  # dynamic: cannot be checked statically
    package: str | None = None
    package_arg = node.args[1] if is_import_module and len(node.args) > 1 else None
    for keyword in node.keywords:
        if keyword.arg == "package":
            package_arg = keyword.value
    if isinstance(package_arg, ast.Constant) and isinstance(package_arg.value, str):
        package = package_arg.value
    elif isinstance(package_arg, ast.Name) and package_arg.id in ("__package__", "__name__"):
        package = "__package__"
    return first.value, package


def collect_imports(
    source: str,
    module: str,
    *,
    is_package: bool = False,
    is_module: Callable[[str], bool] = module_exists_on_disk,
    filename: str = "<source>",
) -> list[Import]:
    """Every module that ``source`` (the text of ``module``) imports, relative imports resolved."""
    found: list[Import] = []
    for node in ast.walk(ast.parse(source, filename=filename)):
        if isinstance(node, ast.Import):
            found.extend(Import(module, alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = _resolve_relative(module, is_package, node.level, node.module)
            else:
                base = node.module or ""
            for alias in node.names:
                # `from pkg import mod` imports the module pkg.mod; `from mod import name` only mod.
                candidate = f"{base}.{alias.name}" if base else alias.name
                if alias.name != "*" and _top(candidate) in OURS and is_module(candidate):
                    found.append(Import(module, candidate, node.lineno))
                else:
                    found.append(Import(module, base, node.lineno))
        elif isinstance(node, ast.Call):
            call = _literal_import_call(node)
            if call is None:
                continue
            name, package = call
            if name.startswith("."):
                level = len(name) - len(name.lstrip("."))
                relative_to = (module, is_package) if package in (None, "__package__") else (package, True)
                name = _resolve_relative(*relative_to, level, name.lstrip(".") or None)
            found.append(Import(module, name, node.lineno))
    return found


def forbidden_reason(importer: str, target: str) -> str | None:
    """Why ``importer`` may not import ``target``, or None when the arrow is allowed."""
    top = _top(target)
    ours = top in OURS
    if any(_within(importer, leaf) for leaf in LEAF_MODULES):
        if ours:
            if any(_within(target, leaf) for leaf in LEAF_MODULES):
                return None
            return "the hub's leaf contract imports only the other leaf modules of ours"
        if top in STDLIB or top == "aiohttp":
            return None
        return "the hub's leaf contract imports only the standard library and aiohttp"
    if _within(importer, "crm_core") or _within(importer, "knowledge"):
        own = _top(importer)
        if ours and top != own:
            return f"{own} imports nothing of ours"
        return None
    if _within(importer, "channels"):
        parts = importer.split(".")
        own_channel = ".".join(parts[:2]) if len(parts) > 1 else None
        if top == "redis":
            return "a channel never uses Redis (the hub owns the bus)"
        if not ours:
            return None
        if any(_within(target, leaf) for leaf in LEAF_MODULES):
            return None
        if own_channel is not None and _within(target, own_channel):
            return None
        if top == "channels":
            if _is_shared_provider(importer):
                return "a shared provider package imports no channel and no other shared package"
            if _is_shared_provider(target):
                return None
            return "a channel imports no other channel"
        if top == "hub":
            return "a channel imports only hub.contract, hub.messages and hub.errors of the hub"
        return f"a channel never imports {top}"
    return None  # the rest of hub wires everything


def check_source(
    source: str,
    module: str,
    *,
    is_package: bool = False,
    path: str = "<source>",
    is_module: Callable[[str], bool] = module_exists_on_disk,
) -> list[Violation]:
    """The forbidden imports in ``source``, the text of ``module``."""
    violations = []
    for found in collect_imports(source, module, is_package=is_package, is_module=is_module, filename=path):
        reason = forbidden_reason(found.importer, found.target)
        if reason is not None:
            violations.append(Violation(path, found.line, found.importer, found.target, reason))
    return violations


def source_files(root: Path = REPO_ROOT) -> Iterator[Path]:
    """Every .py file under our four top-level packages."""
    for package in OURS:
        for path in sorted((root / package).rglob("*.py")):
            if "__pycache__" not in path.parts:
                yield path


def check_tree(root: Path = REPO_ROOT) -> tuple[list[Path], list[Violation]]:
    """The files checked and every forbidden import among them."""
    files = list(source_files(root))
    violations: list[Violation] = []
    for path in files:
        module, is_package = module_name(path, root)
        violations += check_source(
            path.read_text(encoding="utf-8"),
            module,
            is_package=is_package,
            path=str(path.relative_to(root)),
            is_module=lambda name: module_exists_on_disk(name, root),
        )
    return files, violations


def test_every_import_follows_the_architecture() -> None:
    files, violations = check_tree()
    checked = {module_name(path)[0] for path in files}
    assert set(LEAF_MODULES) <= checked, "the walk missed the hub's leaf modules: is REPO_ROOT right?"
    listed = "\n".join(map(str, violations))
    assert not violations, f"forbidden imports (see shared/ARCHITECTURE.md):\n{listed}"


# ---- the checker itself catches what it must ---------------------------------------------------------------

SYNTHETIC_MODULES = frozenset(
    {
        "hub",
        "hub.contract",
        "hub.messages",
        "hub.errors",
        "hub.settings",
        "hub.pipeline",
        "channels",
        "channels.fake",
        "channels.fake.parse",
        "channels.fake.client",
        "channels.other",
        "channels.other.parse",
        "channels._provider",
        "channels._provider.signature",
        "channels._provider.client",
        "channels._another",
        "channels._another.parse",
        "crm_core",
        "crm_core.models",
        "knowledge",
        "knowledge.retrieval",
    }
)

FORBIDDEN_IN_CHANNEL = """
import importlib
import redis.asyncio
from hub.settings import HubSettings
from hub import pipeline
import hub
from crm_core import models
from knowledge.retrieval import search
from ..other import parse
from channels.other.parse import parse_update

def load():
    importlib.import_module("crm_core.models")
    importlib.import_module("..other.parse", package=__package__)
"""

ALLOWED_IN_CHANNEL = """
from __future__ import annotations
import json
import importlib
import aiohttp
from aiohttp import web
from hub.contract import ChannelSpec
from hub import messages, errors
from hub.errors import BadRequest
from . import parse
from .client import FakeClient
from channels.fake.parse import parse_update

def load(name: str):
    importlib.import_module(name)  # dynamic: not checkable, not flagged
    importlib.import_module(".parse", package=__package__)
"""


def _synthetic_is_module(name: str) -> bool:
    return name in SYNTHETIC_MODULES


def _check_synthetic(source: str, module: str, is_package: bool = False) -> list[Violation]:
    return check_source(source, module, is_package=is_package, is_module=_synthetic_is_module)


def test_checker_catches_every_forbidden_arrow_from_a_channel() -> None:
    violations = _check_synthetic(FORBIDDEN_IN_CHANNEL, "channels.fake.adapter")
    assert [(v.line, v.target) for v in violations] == [
        (3, "redis.asyncio"),
        (4, "hub.settings"),
        (5, "hub.pipeline"),
        (6, "hub"),
        (7, "crm_core.models"),
        (8, "knowledge.retrieval"),
        (9, "channels.other.parse"),
        (10, "channels.other.parse"),
        (13, "crm_core.models"),
        (14, "channels.other.parse"),
    ]


def test_checker_allows_what_a_channel_may_import() -> None:
    assert _check_synthetic(ALLOWED_IN_CHANNEL, "channels.fake.adapter") == []
    assert _check_synthetic(ALLOWED_IN_CHANNEL, "channels.fake", is_package=True) == []


CHANNEL_USES_SHARED_PROVIDER = """
import channels._provider
from channels._provider import client
from channels._provider.signature import verify_signature
from .._provider.client import ProviderClient

def load():
    importlib.import_module("channels._another.parse")
"""

FORBIDDEN_IN_SHARED_PROVIDER = """
import redis
from hub.settings import HubSettings
from crm_core import models
from knowledge.retrieval import search
from channels.fake import parse
from ..other.parse import parse_update
from channels._another import parse
import channels

def load():
    importlib.import_module("channels.fake.client")
"""

ALLOWED_IN_SHARED_PROVIDER = """
import json
import aiohttp
from twilio.request_validator import RequestValidator
from hub.errors import Unauthorized
from hub import messages
from channels._provider.signature import verify_signature
from .client import ProviderClient
"""


def test_checker_allows_a_channel_to_import_shared_provider_packages() -> None:
    assert _check_synthetic(CHANNEL_USES_SHARED_PROVIDER, "channels.fake.adapter") == []
    assert _check_synthetic(CHANNEL_USES_SHARED_PROVIDER, "channels.other", is_package=True) == []


def test_checker_holds_a_shared_provider_package_to_a_channels_rules() -> None:
    violations = _check_synthetic(FORBIDDEN_IN_SHARED_PROVIDER, "channels._provider.client")
    assert [(v.line, v.target) for v in violations] == [
        (2, "redis"),
        (3, "hub.settings"),
        (4, "crm_core.models"),
        (5, "knowledge.retrieval"),
        (6, "channels.fake.parse"),
        (7, "channels.other.parse"),
        (8, "channels._another.parse"),
        (9, "channels"),
        (12, "channels.fake.client"),
    ]
    assert {v.reason for v in violations if v.target.startswith("channels")} == {
        "a shared provider package imports no channel and no other shared package"
    }


def test_checker_allows_what_a_shared_provider_package_may_import() -> None:
    assert _check_synthetic(ALLOWED_IN_SHARED_PROVIDER, "channels._provider.signature") == []
    assert _check_synthetic(ALLOWED_IN_SHARED_PROVIDER, "channels._provider", is_package=True) == []


@pytest.mark.parametrize(
    ("module", "source", "target"),
    [
        ("crm_core.models", "from hub.messages import InboundMessage", "hub.messages"),
        ("crm_core.models", "import knowledge", "knowledge"),
        ("crm_core.db", "from channels import fake", "channels.fake"),
        ("knowledge.retrieval", "from crm_core.models import Contact", "crm_core.models"),
        ("knowledge.retrieval", "import importlib\nimportlib.import_module('hub.settings')", "hub.settings"),
        ("hub.messages", "import pydantic", "pydantic"),
        ("hub.contract", "from hub.settings import HubSettings", "hub.settings"),
        ("hub.errors", "from . import pipeline", "hub.pipeline"),
        ("hub.contract", "from sqlalchemy import text", "sqlalchemy"),
    ],
)
def test_checker_catches_forbidden_arrows_elsewhere(module: str, source: str, target: str) -> None:
    violations = _check_synthetic(source, module)
    assert [v.target for v in violations] == [target], violations


@pytest.mark.parametrize(
    ("module", "source"),
    [
        ("crm_core.models", "import sqlalchemy\nfrom crm_core import db\nfrom .db import Base"),
        ("knowledge.retrieval", "import numpy\nfrom knowledge import retrieval"),
        (
            "hub.contract",
            "import abc\nfrom aiohttp import web\nfrom hub.errors import X\nfrom .messages import Y\n",
        ),
        ("hub.pipeline", "import redis\nfrom crm_core import models\nfrom channels.fake import parse"),
    ],
)
def test_checker_allows_drawn_arrows(module: str, source: str) -> None:
    assert _check_synthetic(source, module) == []


def test_check_tree_reports_a_file_with_a_forbidden_import(tmp_path: Path) -> None:
    for package in OURS:
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / "hub" / "settings.py").write_text("")
    (tmp_path / "channels" / "fake").mkdir()
    (tmp_path / "channels" / "fake" / "__init__.py").write_text("from hub import settings\n")
    files, violations = check_tree(tmp_path)
    assert len(files) == 6
    assert [str(v) for v in violations] == [
        "channels/fake/__init__.py:1: channels.fake -> hub.settings: "
        "a channel imports only hub.contract, hub.messages and hub.errors of the hub"
    ]
