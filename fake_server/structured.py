"""Schema instances: valid JSON for a JSON Schema, deterministic per seed (structured outputs, tool arguments).

`instance(schema, seed)` returns a value that satisfies `schema`, the same one for the same seed (the fake
seeds it from the line's custom_id), so `response_format: json_schema`, `text.format: json_schema` and
function-tool `parameters` get answers a client can parse into its model. Handled: `type` (also lists),
`const`, `enum`, objects (every listed property, `required` ones first; `additionalProperties: false` is
respected, `minProperties` filled with extra keys), arrays (`items`, `prefixItems`, `minItems` / `maxItems`,
`uniqueItems`), strings (`minLength` / `maxLength`, `format` date-time, date, time, email, uri, uuid, ipv4,
ipv6, hostname, duration, and simple `pattern`s, the length bounds met together with the pattern or format:
where no string can meet all of them the pattern wins, then the format), numbers and integers within `minimum` / `maximum`
(exclusive too) and `multipleOf`, booleans, null, `anyOf` / `oneOf` (a non-null branch first), `allOf`
(merged) and local `$ref`s (``#/$defs/...``, ``#/definitions/...``, ``#``), recursion bounded.

`satisfying(schema, seed)` also checks the result with jsonschema-rs and tries other seeds when the
generator falls short (an unusual pattern, overlapping `oneOf` branches); it never raises.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
import string
import threading
from typing import Any

__all__ = ["instance", "satisfying"]

_MAX_DEPTH = 8  # past it a union takes null where it may, objects only their required properties
_SHALLOW = 3  # past it arrays hold only their minItems and objects only their required properties
_WORDS = ("alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet", "kilo",
          "lima", "mike", "november", "oscar", "papa")
_validators: dict[str, Any] = {}
_validators_lock = threading.Lock()

try:  # the regex parser behind `re`, to write strings that match a `pattern`
    import re._parser as _sre  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover - Python 3.10
    import sre_parse as _sre  # type: ignore[no-redef]


def _rng(seed: str) -> random.Random:
    return random.Random(hashlib.sha256(seed.encode("utf-8", "surrogatepass")).digest())


def instance(schema: Any, seed: str) -> Any:
    """A value for `schema` (best effort; `satisfying` checks it)."""
    return _Generator(schema, _rng(seed)).value(schema, 0)


def satisfying(schema: Any, seed: str, attempts: int = 6) -> Any:
    """A value `schema` accepts, deterministic for `seed` (checked; other seeds tried if needed)."""
    check = _checker(schema)
    value = instance(schema, seed)
    for attempt in range(1, attempts):
        if check is None or check(value):
            return value
        value = instance(schema, f"{seed}#{attempt}")
    return value


def _checker(schema: Any) -> Any:
    """A compiled `is_valid` for `schema` (None: not a schema jsonschema-rs takes); at most 1,024 kept."""
    if not isinstance(schema, (dict, bool)):
        return None
    key = json.dumps(schema, sort_keys=True, default=str)
    with _validators_lock:  # answers of different batches are computed at once
        if key in _validators:
            return _validators[key]
    try:
        import jsonschema_rs

        check = jsonschema_rs.validator_for(schema).is_valid
    except Exception:  # an invalid schema: nothing to check against
        check = None
    with _validators_lock:
        _validators[key] = check
        while len(_validators) > 1024:  # bounded: drop the oldest
            _validators.pop(next(iter(_validators)))
    return check


class _Generator:
    def __init__(self, root: Any, rng: random.Random) -> None:
        self.root, self.rng = root, rng
        self._minimal, self._pad = False, 0  # how `emit` draws repeats (see `matching`)

    # ------------------------------------------------------------ schema plumbing

    def resolve(self, schema: Any) -> Any:
        for _ in range(32):
            if not isinstance(schema, dict) or "$ref" not in schema:
                return schema
            ref = schema["$ref"]
            target: Any = self.root
            if ref != "#":
                if not ref.startswith("#/"):
                    return {}
                for part in ref[2:].split("/"):
                    part = part.replace("~1", "/").replace("~0", "~")
                    target = target.get(part, {}) if isinstance(target, dict) else {}
            rest = {k: v for k, v in schema.items() if k != "$ref"}
            schema = {**target, **rest} if isinstance(target, dict) and rest else target
        return {}

    def merged(self, schema: dict) -> dict:
        """`allOf` folded into one schema (properties and required united, other keys: the last wins)."""
        out = {k: v for k, v in schema.items() if k != "allOf"}
        for part in schema.get("allOf", []):
            part = self.resolve(part)
            if not isinstance(part, dict):
                continue
            part = self.merged(part)
            props = {**part.get("properties", {}), **out.get("properties", {})}
            required = list(dict.fromkeys([*out.get("required", []), *part.get("required", [])]))
            out = {**part, **out}
            if props:
                out["properties"] = props
            if required:
                out["required"] = required
        return out

    # ------------------------------------------------------------ values

    def value(self, schema: Any, depth: int) -> Any:
        schema = self.resolve(schema)
        if schema is True or schema == {}:
            return self.word()
        if not isinstance(schema, dict):
            return None
        if "allOf" in schema:
            schema = self.merged(schema)
        if "const" in schema:
            return schema["const"]
        if "enum" in schema and schema["enum"]:
            return self.rng.choice(schema["enum"])
        for union in ("anyOf", "oneOf"):
            if union in schema:
                return self.value(self.branch(schema, union, depth), depth + 1)
        kind = schema.get("type")
        if isinstance(kind, list):
            kinds = [k for k in kind if k != "null"] or kind
            kind = kinds[0]
        if kind is None:
            kind = "object" if "properties" in schema else "array" if "items" in schema else "string"
        make = getattr(self, f"make_{kind}", None)
        return make(schema, depth) if make is not None else None

    def branch(self, schema: dict, union: str, depth: int) -> Any:
        branches = [self.resolve(b) for b in schema[union]]
        rest = {k: v for k, v in schema.items() if k != union}
        not_null = [b for b in branches if not (isinstance(b, dict) and b.get("type") == "null")]
        if depth >= _MAX_DEPTH and len(not_null) < len(branches):
            return {"type": "null"}
        pool = not_null or branches
        choice = pool[0] if depth >= _MAX_DEPTH - 2 else self.rng.choice(pool)
        return {**rest, **choice} if isinstance(choice, dict) and rest else choice

    def make_null(self, schema: dict, depth: int) -> None:
        return None

    def make_boolean(self, schema: dict, depth: int) -> bool:
        return self.rng.random() < 0.5

    def make_object(self, schema: dict, depth: int) -> dict:
        props: dict = schema.get("properties", {})
        required = [k for k in schema.get("required", []) if isinstance(k, str)]
        out: dict[str, Any] = {}
        names = list(dict.fromkeys([*required, *props]))
        if depth >= _SHALLOW:
            names = required
        for name in names:
            out[name] = self.value(props.get(name, {}), depth + 1)
        extra = schema.get("additionalProperties", True)
        want = schema.get("minProperties", 0)
        i = 0
        while len(out) < want and extra is not False and i < 100:
            out[f"key_{i}"] = self.value(extra if isinstance(extra, dict) else {}, depth + 1)
            i += 1
        return out

    def make_array(self, schema: dict, depth: int) -> list:
        prefix = schema.get("prefixItems") or (schema["items"] if isinstance(schema.get("items"), list) else [])
        items = schema.get("items") if isinstance(schema.get("items"), (dict, bool)) else {}
        low = schema.get("minItems", 0)
        high = schema.get("maxItems", max(low, 3))
        size = low if depth >= _SHALLOW else min(high, max(low, 1 + self.rng.randrange(2)))
        size = max(size, min(len(prefix), high))
        out: list = []
        seen: set[str] = set()
        attempts = 0
        while len(out) < size and attempts < size * 10 + 10:
            attempts += 1
            sub = prefix[len(out)] if len(out) < len(prefix) else items
            value = self.value(sub, depth + 1)
            key = json.dumps(value, sort_keys=True, default=str)
            if schema.get("uniqueItems") and key in seen:
                continue
            seen.add(key)
            out.append(value)
        return out

    def make_integer(self, schema: dict, depth: int) -> int:
        low, high = _bounds(schema, integer=True)
        step = schema.get("multipleOf")
        if isinstance(step, int) and step > 0:
            first = -(-low // step) * step
            count = max(0, (high - first) // step)
            return first + step * self.rng.randint(0, min(count, 100))
        return self.rng.randint(low, high)

    def make_number(self, schema: dict, depth: int) -> float | int:
        low, high = _bounds(schema, integer=False)
        step = schema.get("multipleOf")
        if isinstance(step, (int, float)) and step > 0:
            first = -(-low // step) * step
            value = first + step * self.rng.randint(0, max(0, min(int((high - first) // step), 100)))
            return round(value, 10)
        return round(low + (high - low) * self.rng.random(), 4)

    def make_string(self, schema: dict, depth: int) -> str:
        """A string meeting `pattern`, `format` and `minLength` / `maxLength` together. Where they cannot all
        hold (no string of the bounded length matches, or a fixed-width format such as a date or uuid is
        outside them), the pattern wins, then the format: the schema has no valid instance, and the client
        parses content by its shape."""
        fmt, pattern = schema.get("format"), schema.get("pattern")
        low = schema.get("minLength", 0)
        low = low if isinstance(low, int) and not isinstance(low, bool) and low > 0 else 0
        high = schema.get("maxLength")
        high = high if isinstance(high, int) and not isinstance(high, bool) and high >= low else None
        if isinstance(pattern, str):
            text = self.matching(pattern, low, high)
            if text is None:
                text = self.matching(pattern)  # no match of that length: the pattern wins
            if text is not None:
                return text
        text = self.formatted(fmt, low, high) if isinstance(fmt, str) else None
        if text is not None:
            return text  # fitted to the bounds where the format allows it (else the format wins)
        text = self.word()
        if len(text) < low:
            text += "x" * (low - len(text))
        if high is not None and len(text) > high:
            text = text[:high]
        return text

    def word(self) -> str:
        return f"{self.rng.choice(_WORDS)}-{self.rng.randrange(1000)}"

    def formatted(self, fmt: str, low: int = 0, high: int | None = None) -> str | None:
        """A string of format `fmt` (None: a format not known here). Emails, URIs and hostnames are fitted to
        `low`..`high` characters where a valid one of that length exists; other formats have a fixed shape."""
        r = self.rng
        if fmt == "email":
            return _fit_email(f"{r.choice(_WORDS)}{r.randrange(100)}", low, high)
        if fmt in ("uri", "url", "iri", "uri-reference"):
            return _fit_uri(r.choice(_WORDS), low, high)
        if fmt in ("hostname", "idn-hostname"):
            return _fit_hostname(r.choice(_WORDS), low, high)
        if fmt == "date-time":
            return f"2024-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}T{r.randint(0, 23):02d}:{r.randint(0, 59):02d}:00Z"
        if fmt == "date":
            return f"2024-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}"
        if fmt == "time":
            return f"{r.randint(0, 23):02d}:{r.randint(0, 59):02d}:00Z"
        if fmt == "uuid":
            return (f"{r.getrandbits(32):08x}-{r.getrandbits(16):04x}-4{r.getrandbits(12):03x}-"
                    f"8{r.getrandbits(12):03x}-{r.getrandbits(48):012x}")
        if fmt == "ipv4":
            return f"192.0.2.{r.randint(1, 254)}"
        if fmt == "ipv6":
            return f"2001:db8::{r.randint(1, 65535):x}"
        if fmt == "duration":
            return f"P{r.randint(1, 30)}D"
        return None

    def matching(self, pattern: str, low: int = 0, high: int | None = None) -> str | None:
        """A string `re.search(pattern, s)` accepts of `low`..`high` characters, for the simple patterns schemas
        use; None when unsure or when no such string was found. Repeats are drawn at random first, then held
        at their minimum and grown (each by whole units) until the string is long enough."""
        try:
            parsed = list(_sre.parse(pattern))
        except Exception:  # a pattern this small generator does not handle
            return None

        def fits(text: str | None) -> bool:
            return (text is not None and low <= len(text) and (high is None or len(text) <= high)
                    and re.search(pattern, text) is not None)

        text = self._emitted(parsed, minimal=False, pad=0)
        if fits(text):
            return text
        base = self._emitted(parsed, minimal=True, pad=0)
        if fits(base) or base is None:
            return base if fits(base) else None
        for _ in range(4):
            grown = self._emitted(parsed, minimal=True, pad=max(0, low - len(base)))
            if fits(grown):
                return grown
        return None

    def _emitted(self, parsed: list, *, minimal: bool, pad: int) -> str | None:
        self._minimal, self._pad = minimal, pad
        try:
            return self.emit(parsed, {})
        except Exception:  # a construct this small generator does not handle
            return None
        finally:
            self._minimal, self._pad = False, 0

    def emit(self, items: list, groups: dict) -> str:
        out: list[str] = []
        for op, arg in items:
            name = str(op)
            if name == "LITERAL":
                out.append(chr(arg))
            elif name == "NOT_LITERAL":
                out.append("a" if chr(arg) != "a" else "b")
            elif name == "ANY":
                out.append("a")
            elif name == "IN":
                out.append(self.from_class(arg))
            elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
                low, high, sub = arg
                unbounded = high == _sre.MAXREPEAT
                count = low if self._minimal else min(low + 2 if unbounded else high, low + self.rng.randint(0, 1))
                units = [self.emit(list(sub), groups) for _ in range(count)]
                while self._pad > 0 and (unbounded or len(units) < high):  # grow toward the wanted length
                    unit = self.emit(list(sub), groups)
                    if not unit:
                        break
                    units.append(unit)
                    self._pad -= len(unit)
                out.extend(units)
            elif name == "SUBPATTERN":
                group, sub = arg[0], arg[-1]
                text = self.emit(list(sub), groups)
                if group is not None:
                    groups[group] = text
                out.append(text)
            elif name == "BRANCH":
                out.append(self.emit(list(self.rng.choice(arg[1])), groups))
            elif name == "GROUPREF":
                out.append(groups.get(arg, ""))
            elif name == "CATEGORY":
                out.append(_category(str(arg)))
            elif name == "AT":
                continue
            else:
                raise ValueError(name)
        return "".join(out)

    def from_class(self, items: list) -> str:
        negate = any(str(op) == "NEGATE" for op, _ in items)
        choices: list[str] = []
        for op, arg in items:
            name = str(op)
            if name == "LITERAL":
                choices.append(chr(arg))
            elif name == "RANGE":
                choices.extend(chr(c) for c in range(arg[0], min(arg[1], arg[0] + 25) + 1))
            elif name == "CATEGORY":
                choices.append(_category(str(arg)))
        if negate:
            pool = [c for c in string.ascii_letters + string.digits if c not in choices]
            return pool[0] if pool else "~"
        return self.rng.choice(choices) if choices else "a"


def _fit_email(local: str, low: int, high: int | None) -> str:
    """`local@domain` of `low`..`high` characters where one exists (at least 6: ``a@x.io``)."""
    domain = "example.com"
    if high is not None and len(local) + 1 + len(domain) > high:
        domain = "x.io"
        local = local[: max(1, high - len(domain) - 1)]
    while len(local) + 1 + len(domain) < low:  # longer: the local part (at most 64), then more domain labels
        need = low - (len(local) + 1 + len(domain))
        if len(local) < 64:
            local += "x" * min(need, 64 - len(local))
        else:
            domain = "x" * min(63, max(1, need - 1)) + "." + domain
    return f"{local}@{domain}"


def _fit_uri(word: str, low: int, high: int | None) -> str:
    """An https URI of `low`..`high` characters where one exists (at least 12: ``https://x.io``)."""
    text = f"https://example.com/{word}"
    if high is not None and len(text) > high and high >= len("https://x.io"):
        text = "https://x.io/" + word[: max(0, high - len("https://x.io/"))] if high > 13 else "https://x.io"
    if len(text) < low:
        text += ("" if text.count("/") > 2 else "/") + "x" * max(1, low - len(text) - (text.count("/") <= 2))
    return text


def _fit_hostname(label: str, low: int, high: int | None) -> str:
    """A hostname of `low`..`high` characters where one exists (at least 4: ``x.io``)."""
    host = f"{label}.example.com"
    if high is not None and len(host) > high:
        host = (label[: max(1, high - 3)] + ".io") if high >= 4 else host
    while len(host) < low:
        need = low - len(host)
        host = "x" * min(63, max(1, need - 1)) + "." + host
    return host


def _category(name: str) -> str:
    return {"CATEGORY_DIGIT": "7", "CATEGORY_NOT_DIGIT": "a", "CATEGORY_SPACE": " ", "CATEGORY_NOT_SPACE": "a",
            "CATEGORY_WORD": "w", "CATEGORY_NOT_WORD": "-"}.get(name, "a")


def _bounds(schema: dict, integer: bool) -> tuple[Any, Any]:
    low: Any = schema.get("minimum")
    high: Any = schema.get("maximum")
    ex_low, ex_high = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
    unit = 1 if integer else 0.001
    if isinstance(ex_low, (int, float)) and not isinstance(ex_low, bool):
        low = max(low, ex_low + unit) if isinstance(low, (int, float)) else ex_low + unit
    if isinstance(ex_high, (int, float)) and not isinstance(ex_high, bool):
        high = min(high, ex_high - unit) if isinstance(high, (int, float)) else ex_high - unit
    if low is None and high is None:
        low, high = 0, 100
    elif low is None:
        low = high - 100
    elif high is None:
        high = low + 100
    if integer:
        low, high = math.ceil(low), math.floor(high)
        if high < low:
            high = low
    return low, high
