"""Which models a batch may name, per endpoint: `ModelRule`, built from `FakeBatchesAPI(models=...)`.

    ModelRule()                          # the catalogue (spec.MODEL_CATALOGUE): only what the Batch API serves
    ModelRule(["my-model", "ft:*"])      # the catalogue plus these names or fnmatch globs (any endpoint)
    ModelRule("any")                     # any non-empty name (the fake before its catalogue)
    ModelRule(lambda model: ...)         # your predicate decides alone

The fake's reserved names keep working with the catalogue, extras and "any": ``fake-error-NNN`` is always
served (the line then fails with that status) and ``unsupported-*`` is always refused (`model_not_found`).
An endpoint the spec does not list (a test author's own) accepts any model.

A fine-tuned model, ``ft:<base>:<org>:<suffix>:<id>`` (``ft:gpt-4o-mini-2024-07-18:my-org:custom:abc123``,
``ft:davinci-002:my-org::abc123``), is served wherever its base (a catalogue model or its dated snapshot) is:
the catalogue checks the base, and the name needs at least one part after it.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterable
from typing import Any, Union

from . import spec

__all__ = ["ModelRule", "ModelsOption"]

ModelsOption = Union[None, str, Callable[[str], bool], Iterable[str], "ModelRule"]
_FINE_TUNED = "ft:"
_RESERVED = re.compile(re.escape(spec.RESERVED_MODEL_PREFIX) + r"[45]\d\d")


def _base_model(model: str) -> str:
    """The base of a fine-tuned name (``ft:gpt-4o-mini:org:x:id`` -> ``gpt-4o-mini``); any other name itself.
    A bare ``ft:gpt-4o-mini`` (nothing after the base) is kept whole, so the catalogue refuses it."""
    if model.startswith(_FINE_TUNED):
        base, sep, rest = model[len(_FINE_TUNED):].partition(":")
        if sep and rest:
            return base
    return model


class ModelRule:
    """The model check of create-time validation: `supports(endpoint, model)`."""

    def __init__(self, models: ModelsOption = None) -> None:
        self.option: Any = models
        self.any = False
        self.predicate: Callable[[str], bool] | None = None
        self.extra: re.Pattern[str] | None = None
        if models is None:
            return
        if isinstance(models, ModelRule):
            raise TypeError("use ModelRule.of(rule) to reuse a ModelRule")
        if isinstance(models, str):
            if models != "any":
                raise ValueError(f"models must be 'any', names, a predicate or None, not {models!r}")
            self.any = True
        elif callable(models):
            self.predicate = models
        else:
            names = [str(name) for name in models]
            if names:
                self.extra = re.compile("|".join(fnmatch.translate(name) for name in names))

    @classmethod
    def of(cls, models: ModelsOption) -> ModelRule:
        return models if isinstance(models, ModelRule) else cls(models)

    def supports(self, endpoint: str, model: str) -> bool:
        if self.predicate is not None:
            return bool(self.predicate(model))
        if not model or model.startswith(spec.UNSUPPORTED_MODEL_PREFIX):
            return False
        if self.any or _RESERVED.fullmatch(model):
            return True
        if self.extra is not None and self.extra.match(model):
            return True
        catalogue = spec.MODEL_CATALOGUE.get(endpoint)
        return catalogue is None or catalogue.fullmatch(_base_model(model)) is not None

    def for_endpoint(self, endpoint: str) -> Callable[[str], bool]:
        return lambda model: self.supports(endpoint, model)

    def __repr__(self) -> str:
        if self.predicate is not None:
            return f"ModelRule({self.predicate!r})"
        if self.any:
            return "ModelRule('any')"
        return f"ModelRule(catalogue{' + extras' if self.extra is not None else ''})"
