"""IAM's evaluation rules, for the policies of the template (moto does not evaluate IAM against resource ARNs for
these services): a request is allowed when an Allow statement matches it and no Deny does, and, for a role with a
permissions boundary, when the boundary allows it too. A statement matches on Action/NotAction,
Resource/NotResource and its Condition; the condition operators the template uses are implemented, a key missing
from the request fails a positive operator and passes a negated one (as in IAM)."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

Statement = dict[str, Any]


@dataclass(frozen=True)
class Request:
    action: str
    resource: str
    context: Mapping[str, str] = field(default_factory=dict)


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _like(value: str, patterns: Iterable[Any], case: bool = True) -> bool:
    if case:
        return any(fnmatch.fnmatchcase(value, str(p)) for p in patterns)
    return any(fnmatch.fnmatchcase(value.lower(), str(p).lower()) for p in patterns)


_OPERATORS = {
    "StringEquals": lambda v, ps: v in [str(p) for p in ps],
    "StringLike": _like,
    "ArnLike": _like,
    "ArnEquals": _like,
    "Bool": lambda v, ps: v.lower() in [str(p).lower() for p in ps],
}


def _condition_holds(condition: Mapping[str, Any], context: Mapping[str, str]) -> bool:
    for operator, tests in condition.items():
        negated = operator.startswith(("StringNot", "ArnNot"))
        positive = operator.replace("Not", "", 1) if negated else operator
        if positive not in _OPERATORS:
            raise NotImplementedError(f"condition operator {operator}")
        for key, values in tests.items():
            if key not in context:
                if not negated:
                    return False
                continue
            found = _OPERATORS[positive](context[key], as_list(values))
            if found == negated:
                return False
    return True


def matches(statement: Statement, request: Request) -> bool:
    if "Action" in statement:
        action_ok = _like(request.action, as_list(statement["Action"]), case=False)
    else:
        action_ok = not _like(request.action, as_list(statement["NotAction"]), case=False)
    if "Resource" in statement:
        resource_ok = _like(request.resource, as_list(statement["Resource"]))
    else:
        resource_ok = not _like(request.resource, as_list(statement["NotResource"]))
    return action_ok and resource_ok and _condition_holds(statement.get("Condition", {}), request.context)


def allowed(statements: list[Statement], request: Request) -> bool:
    if any(matches(st, request) for st in statements if st["Effect"] == "Deny"):
        return False
    return any(matches(st, request) for st in statements if st["Effect"] == "Allow")


def permitted(identity: list[Statement], boundary: list[Statement] | None, request: Request) -> bool:
    """A role's request: its policies allow it and, when it has one, so does its permissions boundary."""
    return allowed(identity, request) and (boundary is None or allowed(boundary, request))
