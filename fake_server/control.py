"""The control plane: `/__fake__/...` on the loopback server, so a fake in another process (any language) can
be steered like the in-process one. Off unless `serve(..., control=True)` / `--control`; loopback clients only.

    POST   /__fake__/reset                               forget everything          -> {"ok": true}
    GET    /__fake__/clock                               -> {"now": t}
    POST   /__fake__/clock        {"advance": s} | {"set": t}                      -> {"now": t}
    GET    /__fake__/state                               -> {"now", "batches", "files"}
    POST   /__fake__/seed         {"status", "requests", "failed", "completed", "endpoint", "model",
                                   "metadata", "errors", "organization", "project"} -> the Batch
                                   (the fields as FakeBatchesAPI.seed_batch; a contradiction is a 400 naming it)
    POST   /__fake__/batches/{id}/complete | fail | expire | cancel   (fail: {"errors": [...]}) -> the Batch
    GET    /__fake__/faults                              -> {"rules": [...]}
    POST   /__fake__/faults       one rule or {"rules": [...]} (FaultPlan.add's fields) -> {"rules": [...]}
    DELETE /__fake__/faults                              -> {"rules": []}

Every value is checked before anything changes: a number must be a finite JSON number (never a bool) within
its bounds (`advance` at most 100 years; `delay` at most 30 s; `requests` at most 50,000 ...), text must be
text, and the body strict JSON (no NaN, no deep nesting) of at most 1 MB. Anything else is a 400 in the
API's envelope, naming the parameter, and the fake is left as it was: it keeps serving.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any, Protocol

from . import spec, strict_json
from .batches import seed_problem
from .errors import ApiError, envelope
from .faults import FAULT_STATUSES, MAX_DELAY_SECONDS, Fault, FaultPlan, check_field, field_rule
from .params import metadata_field
from .wire import Handles, Request, Response, json_response

__all__ = ["ControlPlane", "Steerable", "PREFIX", "MAX_ADVANCE_SECONDS", "MAX_DELAY_SECONDS", "off"]

PREFIX = "/__fake__/"
MAX_ADVANCE_SECONDS = 100 * 365 * 86_400  # a clock move of more than 100 years is a mistake
_MAX_TEXT = 1_000
_MAX_ERRORS = 1_000
_BATCH_ACTION = re.compile(r"batches/(?P<batch_id>[^/]+)/(?P<action>complete|fail|expire|cancel)")


class Steerable(Handles, Protocol):
    """What the control plane steers: a FakeBatchesAPI (or anything with the same controls)."""

    @property
    def clock(self) -> Any: ...

    @property
    def faults(self) -> FaultPlan: ...

    def reset(self) -> None: ...

    def advance(self, seconds: float) -> float: ...

    def batches(self) -> list[dict]: ...

    def files(self) -> list[dict]: ...

    def seed_batch(self, status: str = ..., *, requests: int = ..., failed: int = ..., completed: int | None = ...,
                   endpoint: str = ..., model: str | None = ..., metadata: dict[str, str] | None = ...,
                   errors: list[dict] | None = ..., organization: str | None = ...,
                   project: str | None = ...) -> dict: ...

    def complete(self, batch_id: str) -> dict: ...

    def fail(self, batch_id: str, errors: list[dict] | None = None) -> dict: ...

    def expire(self, batch_id: str) -> dict: ...

    def cancel(self, batch_id: str) -> dict: ...


class ControlPlane:
    """Answers `/__fake__/...` requests for `fake` (the loopback door calls it; nothing else does)."""

    def __init__(self, fake: Steerable) -> None:
        self.fake = fake

    def handle(self, request: Request) -> Response:
        action = request.path[len(PREFIX):].rstrip("/")
        try:
            return json_response(200, self._dispatch(request.method, action, request))
        except ApiError as err:
            return json_response(err.status, err.envelope(), err.headers)

    def _dispatch(self, method: str, action: str, request: Request) -> Any:
        fake = self.fake
        if (method, action) == ("POST", "reset"):
            fake.reset()
            return {"ok": True}
        if (method, action) == ("GET", "clock"):
            return {"now": fake.clock.now()}
        if (method, action) == ("POST", "clock"):
            return self._clock(_body(request))
        if (method, action) == ("GET", "state"):
            return {"now": fake.clock.now(), "batches": fake.batches(), "files": fake.files()}
        if (method, action) == ("POST", "seed"):
            return self._seed(_body(request))
        if action == "faults":
            if method == "GET":
                return {"rules": [_rule_view(rule) for rule in fake.faults.rules]}
            if method == "DELETE":
                fake.faults.clear()
                return {"rules": []}
            if method == "POST":
                return self._faults(_body(request))
        match = _BATCH_ACTION.fullmatch(action)
        if match and method == "POST":
            return self._steer(match["batch_id"], match["action"], _body(request, optional=True))
        raise ApiError(404, f"Invalid URL ({method} {request.path})")

    def _clock(self, body: dict) -> dict:
        _only(body, {"advance", "set"})
        clock, now = self.fake.clock, self.fake.clock.now()
        if "set" in body:
            target = _number(body, "set", now, now + MAX_ADVANCE_SECONDS)
            if not callable(getattr(clock, "set", None)):
                raise ApiError(400, "Only a manual clock can be set; this fake's clock can only advance.",
                               param="set", code="invalid_value")
            clock.set(target)
        else:
            self.fake.advance(_number(body, "advance", 0, MAX_ADVANCE_SECONDS, default=0))
        return {"now": clock.now()}

    def _seed(self, body: dict) -> dict:
        _only(body, {"status", "requests", "failed", "completed", "endpoint", "model", "metadata", "errors",
                     "organization", "project"})
        status = _choice(body, "status", spec.STATUSES, default="completed")
        requests = _integer(body, "requests", 1, spec.MAX_REQUESTS, default=3)
        kwargs: dict[str, Any] = {
            "requests": requests,
            "failed": _integer(body, "failed", 0, requests, default=0),
            "completed": _integer(body, "completed", 0, requests, default=None),
            "endpoint": _choice(body, "endpoint", tuple(spec.ENDPOINTS), default="/v1/chat/completions"),
            "model": _text(body, "model", default=None),
            "metadata": metadata_field(body.get("metadata")),
            "errors": _batch_errors(body.get("errors")),
            "organization": _text(body, "organization", default=None),
            "project": _text(body, "project", default=None),
        }
        problem = seed_problem(status, requests, kwargs["failed"], kwargs["completed"], kwargs["errors"])
        if problem is not None:
            raise ApiError(400, f"Invalid '{problem[0]}': {problem[1]}.", param=problem[0], code="invalid_value")
        return _steered(lambda: self.fake.seed_batch(status, **kwargs))

    def _steer(self, batch_id: str, action: str, body: dict) -> dict:
        _only(body, {"errors"} if action == "fail" else set())
        steer: dict[str, Callable[[], dict]] = {
            "complete": lambda: self.fake.complete(batch_id),
            "fail": lambda: self.fake.fail(batch_id, _batch_errors(body.get("errors"))),
            "expire": lambda: self.fake.expire(batch_id),
            "cancel": lambda: self.fake.cancel(batch_id),
        }
        return _steered(steer[action])

    def _faults(self, body: dict) -> dict:
        raw_rules = body.get("rules", [body]) if set(body) <= {"rules"} and "rules" in body else [body]
        if not isinstance(raw_rules, list) or len(raw_rules) > 100:
            raise ApiError(400, "Invalid 'rules': expected an array of at most 100 fault rules.", param="rules",
                           code="invalid_type")
        checked = [_fault_fields(rule, f"rules[{i}]") for i, rule in enumerate(raw_rules)]
        for fields in checked:  # every rule checked before any is added
            try:
                Fault(**fields)
            except (TypeError, ValueError) as err:
                raise ApiError(400, f"Invalid fault rule: {err}", param="rules", code="invalid_value") from None
        for fields in checked:
            self.fake.faults.add(**fields)
        return {"rules": [_rule_view(rule) for rule in self.fake.faults.rules]}


# ---------------------------------------------------------------- checking what a control request carries


def _body(request: Request, optional: bool = False) -> dict:
    raw = request.read()
    if optional and not raw.strip():
        return {}
    try:
        body = strict_json.loads(raw or b"null")
    except ValueError as err:
        raise ApiError(400, f"We could not parse the JSON body of your request: {err}.") from None
    if not isinstance(body, dict):
        raise ApiError(400, "The control plane expects a JSON object.", code="invalid_type")
    return body


def _only(body: dict, allowed: set[str]) -> None:
    for name in body:
        if name not in allowed:
            raise ApiError(400, f"Unrecognized request argument supplied: {name}", param=str(name)[:64])


def _invalid(name: str, expected: str) -> ApiError:
    return ApiError(400, f"Invalid value for '{name}': expected {expected}.", param=name, code="invalid_value")


def _number(body: dict, name: str, low: float, high: float, *, default: Any = ...) -> Any:
    value = body.get(name, default)
    if value is ...:
        raise ApiError(400, f"Missing required parameter: '{name}'.", param=name, code="missing_required_parameter")
    if value is None and default is None:
        return value  # type: ignore[no-any-return]
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or not low <= value <= high:
        raise _invalid(name, f"a finite number between {low:g} and {high:g}")
    return float(value)


def _integer(body: dict, name: str, low: int, high: int, *, default: Any) -> Any:
    value = body.get(name, default)
    if value is None and default is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise _invalid(name, f"an integer between {low:,} and {high:,}")
    return value


def _text(body: dict, name: str, *, default: Any) -> Any:
    value = body.get(name, default)
    if value is None and default is None:
        return None
    if not isinstance(value, str) or not value or len(value) > _MAX_TEXT:
        raise _invalid(name, f"a non-empty string of at most {_MAX_TEXT:,} characters")
    return value


def _choice(body: dict, name: str, allowed: tuple[str, ...], *, default: str) -> str:
    value = body.get(name, default)
    if value not in allowed:
        shown = ", ".join(f"'{a}'" for a in allowed)
        raise ApiError(400, f"Invalid value for '{name}': supported values are: {shown}.", param=name,
                       code="invalid_value")
    return value  # type: ignore[no-any-return]


def _batch_errors(value: Any) -> list[dict] | None:
    """`errors.data` entries of a failed batch: {code, message, param?, line?}."""
    if value is None:
        return None
    if not isinstance(value, list) or not 1 <= len(value) <= _MAX_ERRORS:
        raise _invalid("errors", f"an array of 1 to {_MAX_ERRORS:,} BatchError objects")
    errors = []
    for i, item in enumerate(value):
        name = f"errors[{i}]"
        if not isinstance(item, dict) or set(item) - {"code", "message", "param", "line"}:
            raise _invalid(name, "an object with code, message, param and line")
        code, message, param, line = (item.get(k) for k in ("code", "message", "param", "line"))
        if not isinstance(code, str) or not isinstance(message, str) or not code or not message:
            raise _invalid(name, "a non-empty string code and message")
        if param is not None and not isinstance(param, str):
            raise _invalid(f"{name}.param", "a string or null")
        if line is not None and (not isinstance(line, int) or isinstance(line, bool) or not 1 <= line <= 10**9):
            raise _invalid(f"{name}.line", "a positive integer or null")
        errors.append({"code": code[:_MAX_TEXT], "message": message[:_MAX_TEXT], "param": param, "line": line})
    return errors


def _fault_fields(rule: Any, where: str) -> dict:
    if not isinstance(rule, dict):
        raise _invalid(where, "a fault rule object")
    _only(rule, {"method", "path", "times", "rate", "status", "retry_after", "retry_after_ms", "body", "delay",
                 "drop"})
    fields: dict[str, Any] = {}
    for name in ("method", "path"):
        if rule.get(name) is not None:
            fields[name] = _text(rule, name, default=None)
    if "times" in rule:
        fields["times"] = _fault_number(rule, "times")
    for name in ("rate", "retry_after", "retry_after_ms", "delay"):
        if rule.get(name) is not None:
            fields[name] = _fault_number(rule, name)
    if rule.get("status") is not None:
        fields["status"] = _integer(rule, "status", FAULT_STATUSES.start, FAULT_STATUSES.stop - 1, default=None)
    if rule.get("drop") is not None:
        fields["drop"] = _choice(rule, "drop", ("before", "after"), default="before")
    if rule.get("body") is not None:
        if not isinstance(rule["body"], dict):
            raise _invalid("body", "a JSON object")
        fields["body"] = rule["body"]
    return fields


def _fault_number(rule: dict, name: str) -> Any:
    """A fault rule's numeric field, checked by the faults' own `check_field` (the Python API's check)."""
    value = rule.get(name)
    if value is None:
        return None
    try:
        check_field(name, value)
    except ValueError:
        raise _invalid(name, field_rule(name)) from None
    return value


def _rule_view(rule: Fault) -> dict:
    return {"method": rule.method, "path": rule.path, "times": rule.times, "remaining": rule.remaining,
            "rate": rule.rate, "status": rule.status, "retry_after": rule.retry_after,
            "retry_after_ms": rule.retry_after_ms, "delay": rule.delay, "drop": rule.drop, "hits": rule.hits}


def _steered(action: Callable[[], dict]) -> dict:
    """Run a test-author control; its KeyError (unknown id) is a 404, its ValueError (cannot) a 409."""
    try:
        return action()
    except KeyError as err:
        raise ApiError(404, f"No batch found: {str(err)[:200]}", param="batch_id") from None
    except ValueError as err:
        raise ApiError(409, str(err)[:500]) from None


def off(request: Request) -> Response:
    """The answer when the control plane is off."""
    return json_response(404, envelope(
        f"Invalid URL ({request.method} {request.path}): the control plane is off "
        "(serve(..., control=True) or --control)"))
