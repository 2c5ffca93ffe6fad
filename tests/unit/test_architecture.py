"""The domain and the agreement rules stay free of frameworks, I/O libraries and JOSE."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PURE_PACKAGES = ("broker/domain", "agreements")
FORBIDDEN = {
    "fastapi", "starlette", "sqlalchemy", "aio_pika", "aiormq",
    "pydantic", "structlog", "httpx", "joserfc",
}
PURE_FILES = sorted(path for package in PURE_PACKAGES for path in (ROOT / package).rglob("*.py"))


def imports_in(source: str, package: str) -> list[tuple[int, str]]:
    """Every module `source` imports (relative imports resolved against `package`), with its line.

    Catches `import x`, `from x import y` (also recorded as `x.y`), imports nested in
    functions, and `__import__("x")` / `importlib.import_module("x")` with a literal name.
    """
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parent = parts[: len(parts) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            found.append((node.lineno, base))
            found.extend((node.lineno, f"{base}.{alias.name}") for alias in node.names)
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            first = node.args[0]
            if name in ("__import__", "import_module") and isinstance(first, ast.Constant) and isinstance(first.value, str):
                found.append((node.lineno, first.value))
    return found


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """The imports of a project file, relative ones resolved against its package."""
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    return imports_in(path.read_text(encoding="utf-8"), package)


def test_there_are_pure_modules_to_check() -> None:
    """The check really looks at the domain and agreements modules."""
    names = {p.relative_to(ROOT).as_posix() for p in PURE_FILES}
    assert {"broker/domain/enquiry.py", "broker/domain/gates.py", "agreements/policy.py", "agreements/loader.py"} <= names


@pytest.mark.parametrize("path", PURE_FILES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_pure_module_imports_no_framework(path: Path) -> None:
    """No import in this module reaches a web, database, messaging, logging, HTTP, validation or JOSE library."""
    offending = [
        f"line {line}: {module}"
        for line, module in imported_modules(path)
        if module.split(".")[0] in FORBIDDEN
    ]
    assert offending == []


def test_pure_modules_import_only_pure_project_code() -> None:
    """Within the project, the domain and agreements import only each other, never adapters, service or entrypoints."""
    offending = [
        f"{path.relative_to(ROOT)}:{line}: {module}"
        for path in PURE_FILES
        for line, module in imported_modules(path)
        if module.split(".")[0] in ("broker", "adapters", "agreements")
        and not module.startswith(("broker.domain", "agreements"))
    ]
    assert offending == []


def test_import_scanner_sees_every_form_of_import() -> None:
    """The scanner catches plain, aliased, from, nested, dynamic and relative imports, so the checks above can fail."""
    source = (
        "import pydantic as p\n"
        "from sqlalchemy.orm import Session\n"
        "import importlib\n"
        "def f():\n"
        "    import structlog\n"
        "    importlib.import_module('aio_pika')\n"
        "    return __import__('httpx')\n"
        "from . import model\n"
        "from ..service import ports\n"
    )
    found = {module for _, module in imports_in(source, "broker.domain")}
    assert {"pydantic", "sqlalchemy.orm", "structlog", "aio_pika", "httpx"} <= found
    assert {"broker.domain.model", "broker.service.ports"} <= found
