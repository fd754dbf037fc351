"""The two vocabularies agree: batches_ext.spec (what the client checks before it sends) and fake_server.spec
(what the fake enforces) hold the same endpoints, limits, statuses and reserved prefix. The core never imports
the fake, so this test is where a change to one table without the other is caught."""

from __future__ import annotations

from batches_ext import spec as core
from fake_server import spec as fake


def test_the_same_endpoints_with_the_same_prompt_key_and_model_rule() -> None:
    assert list(core.ENDPOINTS) == list(fake.ENDPOINTS)
    for url, mine in core.ENDPOINTS.items():
        theirs = fake.ENDPOINTS[url]
        assert (mine.prompt_key, mine.model_required, mine.prompt_required) == \
            (theirs.prompt_key, theirs.model_required, theirs.prompt_required), url


def test_the_same_limits_and_lifetimes() -> None:
    assert core.MAX_LINES == fake.MAX_REQUESTS
    assert core.MAX_BYTES == fake.MAX_BATCH_FILE_BYTES
    assert core.MAX_EMBEDDING_INPUTS == fake.MAX_EMBEDDING_INPUTS
    assert (core.METADATA_MAX_PAIRS, core.METADATA_MAX_KEY_CHARS, core.METADATA_MAX_VALUE_CHARS) == (
        fake.METADATA_MAX_PAIRS, fake.METADATA_MAX_KEY_CHARS, fake.METADATA_MAX_VALUE_CHARS)
    assert (core.EXPIRY_MIN_SECONDS, core.EXPIRY_MAX_SECONDS) == (fake.EXPIRY_MIN_SECONDS, fake.EXPIRY_MAX_SECONDS)
    assert core.FILE_LIFETIME_SECONDS == fake.BATCH_FILE_SECONDS == fake.OUTPUT_FILE_SECONDS
    assert core.COMPLETION_WINDOWS == fake.COMPLETION_WINDOWS
    assert core.LIST_BATCHES_MAX == fake.LIST_BATCHES_LIMIT.high


def test_the_same_statuses_and_reserved_models() -> None:
    assert set(core.STATUSES) == set(fake.STATUSES)
    assert core.TERMINAL == fake.TERMINAL and core.CANCELLABLE == fake.CANCELLABLE
    assert core.FAKE_ERROR_PREFIX == fake.RESERVED_MODEL_PREFIX


def test_the_same_body_parameters_per_endpoint_as_the_fakes_request_schemas() -> None:
    """batches_ext.spec.BODY_PARAMETERS (what build_requests accepts) is exactly the top-level properties of each
    endpoint's request schema the fake checks lines against (vendored from the same OpenAPI description)."""
    from fake_server.line_schemas import known_parameters

    assert set(core.BODY_PARAMETERS) == set(core.ENDPOINTS)
    for url, names in core.BODY_PARAMETERS.items():
        assert names == known_parameters(url), (url, sorted(names ^ (known_parameters(url) or set())))
    assert core.BATCH_CREATES_PER_HOUR == fake.BATCH_CREATES_PER_HOUR
