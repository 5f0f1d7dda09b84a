"""Every service method that takes a session token × every role (member, each staff role, signed out).

Methods are discovered from the Backend's sections, so a new method is covered the day it lands.
A staff method declares its roles with `@staff_only(...)` (backend/security/roles.py); a method without the
declaration is members-only. "Refused" means the auth layer refused (SessionExpired, or Forbidden
with the role-refused code) before anything else; any other outcome counts as allowed.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import sys

import pytest

from backend.core.errors import Forbidden, SessionExpired
from backend.security.roles import ROLE_REFUSED, SOCIO, STAFF_ROLES
from backend.service import Backend
from tests.staff_helpers import team

SKIP = {"auth", "otp", "ctx", "db", "settings", "clearing"}  # no per-caller methods, or token-free


def services(backend):
    for name, value in inspect.getmembers(Backend):
        if name.startswith("_") or name in SKIP:
            continue
        if isinstance(value, functools.cached_property):
            yield name, getattr(backend, name)
    for name in ("ops",):
        if hasattr(backend, name) and name not in dict(inspect.getmembers(Backend)):
            yield name, getattr(backend, name)


def token_methods(service):
    for name, method in inspect.getmembers(service, inspect.ismethod):
        if name.startswith("_"):
            continue
        params = list(inspect.signature(method).parameters)
        if params and params[0] == "token":
            yield name, method


def typed_dummy(hint, param: inspect.Parameter, tmp_path):
    """A request dataclass is built as the screens build it, from dummy fields: a bare dict would fail in
    `asdict` before the service is even called, and count as «allowed» for anyone."""
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        fields = {f.name: typed_dummy(None, inspect.Parameter(f.name, inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                                              annotation=f.type), tmp_path)
                  for f in dataclasses.fields(hint) if f.default is dataclasses.MISSING
                  and f.default_factory is dataclasses.MISSING}
        return hint(**fields)
    return dummy(param, tmp_path)


def dummy(param: inspect.Parameter, tmp_path):
    if param.default is not inspect.Parameter.empty:
        return param.default
    name, ann = param.name, str(param.annotation)
    if "dir" in name or "path" in name:
        return str(tmp_path)
    if "int" in ann or name.endswith("_id") or name in {"amount", "id"}:
        return 10**6  # no such row: an allowed call fails after the auth check, harming no one
    if "dict" in ann or name == "request":
        return {}
    if "list" in ann:
        return []
    return "1"


def outcome(method, token, tmp_path) -> str:
    params = list(inspect.signature(method).parameters.values())[1:]
    module = sys.modules[method.__func__.__module__].__dict__  # string annotations, resolved where importable
    args = [typed_dummy(module.get(str(p.annotation)), p, tmp_path) for p in params
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    try:
        method(token, *args)
    except SessionExpired:
        return "refused"
    except Forbidden as exc:
        return "refused" if exc.code == ROLE_REFUSED else "allowed"
    except Exception:  # noqa: BLE001 — past the auth check: bad dummy input is still "allowed"
        return "allowed"
    return "allowed"


def expected_roles(method) -> set[str]:
    return set(getattr(method, "allowed_roles", (SOCIO,)))


@pytest.fixture
def callers(backend, clock, lucia):
    people = team(backend, clock)
    tokens = {SOCIO: lucia.token, "signed_out": "", "ended": "token-que-no-existe"}
    for role in STAFF_ROLES:
        tokens[role] = people[role].token
    return tokens


def test_no_unexpected_allows(backend, callers, tmp_path):
    covered, unexpected, missing = 0, [], []
    for service_name, service in services(backend):
        for name, method in token_methods(service):
            allowed = expected_roles(method)
            for role, token in callers.items():
                got = outcome(method, token, tmp_path)
                covered += 1
                if got == "allowed" and role not in allowed:
                    unexpected.append(f"{service_name}.{name} as {role}")
                if got == "refused" and role in allowed:
                    missing.append(f"{service_name}.{name} as {role}")
    assert covered > 50
    assert unexpected == []
    assert missing == []


@pytest.mark.sqlite_only(covered=True)
def test_staff_methods_are_discovered(backend):
    names = {f"{s}.{m}" for s, svc in services(backend) for m, _ in token_methods(svc)}
    assert "products.position" in names
    queues = {f"contact_staff.{m}" for m in ("cases", "case", "answer", "close")} | \
        {f"product_approvals.{m}" for m in ("requests", "request", "take", "approve", "reject")}
    assert queues <= names


@pytest.mark.sqlite_only  # reads the services' declared roles, no SQL: one engine is enough
def test_the_back_office_queues_are_for_atencion_and_supervisors(backend):
    from backend.security.roles import ATENCION, SUPERVISOR

    for service in (backend.contact_staff, backend.product_approvals):
        for name, method in token_methods(service):
            assert expected_roles(method) == {ATENCION, SUPERVISOR}, name
