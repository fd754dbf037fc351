"""Models: full field set, unknown fields and statuses kept, cheap pages."""

from __future__ import annotations

import datetime as dt

from batches_ext.models import Batch, BatchError, FileObject, Page, RequestCounts, Status

from .conftest import batch_payload


def test_status_sets():
    assert Status.TERMINAL == {"completed", "failed", "expired", "cancelled"}
    assert Status.CANCELLABLE == {"validating", "in_progress", "finalizing"}
    assert Status.COMPLETED == "completed"


def test_batch_from_dict_reads_every_field():
    d = batch_payload(
        status="completed",
        model="gpt-4o-mini",
        output_file_id="file-out",
        error_file_id="file-err",
        in_progress_at=1_700_000_005,
        finalizing_at=1_700_021_600,
        completed_at=1_700_021_630,
        request_counts={"total": 100, "completed": 95, "failed": 5},
        usage={"input_tokens": 1, "output_tokens": 2, "total_tokens": 3},
        metadata={"run": "1"},
    )
    b = Batch.from_dict(d)
    assert (b.id, b.status, b.endpoint, b.model) == ("batch_1", "completed", "/v1/chat/completions", "gpt-4o-mini")
    assert b.request_counts == RequestCounts(100, 95, 5)
    assert b.output_file_id == "file-out" and b.error_file_id == "file-err"
    assert b.completed_at == 1_700_021_630 and isinstance(b.completed_at, int)
    assert b.metadata == {"run": "1"} and b.usage["total_tokens"] == 3
    assert b.is_terminal and not b.is_cancellable
    assert b.progress == 1.0
    assert b.created == dt.datetime(2023, 11, 14, 22, 13, 20, tzinfo=dt.timezone.utc)
    assert b.finished_at == 1_700_021_630
    assert b.to_dict() == d


def test_unknown_fields_are_kept_and_unknown_status_is_not_terminal():
    d = batch_payload(status="paused_for_review", brand_new_field={"x": 1})
    b = Batch.from_dict(d)
    assert b.status == "paused_for_review"
    assert not b.is_terminal and not b.is_cancellable
    assert b.raw["brand_new_field"] == {"x": 1}


def test_errors_list_is_parsed():
    d = batch_payload(status="failed", errors={"object": "list", "data": [
        {"code": "invalid_json_line", "message": "This line is not parseable as valid JSON.", "param": None,
         "line": 2}]})
    b = Batch.from_dict(d)
    assert b.errors == [BatchError("invalid_json_line", "This line is not parseable as valid JSON.", None, 2)]


def test_minimal_batch_and_nulls():
    b = Batch.from_dict({"id": "batch_x", "status": "validating", "request_counts": None, "errors": None})
    assert b.request_counts == RequestCounts(0, 0, 0) and b.errors == []
    assert b.progress == 0.0 and b.created is None


def test_progress_counts_done_lines():
    b = Batch.from_dict(batch_payload(status="in_progress", request_counts={"total": 4, "completed": 1,
                                                                            "failed": 1}))
    assert b.progress == 0.5 and b.is_cancellable


def test_repr_html_is_a_table_with_the_essentials():
    b = Batch.from_dict(batch_payload(batch_id="batch_<b>", request_counts={"total": 3, "completed": 2,
                                                                            "failed": 1}))
    html = b._repr_html_()
    assert "batch_&lt;b&gt;" in html and "validating" in html and "/v1/chat/completions" in html
    assert "2 completed" in html or "2" in html


def test_repr_is_one_short_line_for_logs_and_str_a_readable_card():
    b = Batch.from_dict(batch_payload(status="completed", completed_at=1_700_000_200,
                                      request_counts={"total": 40, "completed": 37, "failed": 3}))
    assert repr(b) == "<Batch batch_1 completed: 40/40 done, 3 failed; created 2023-11-14T22:13:20Z>"
    assert repr(Batch.from_dict(batch_payload())) == "<Batch batch_1 validating: queued; created 2023-11-14T22:13:20Z>"
    card = str(b).splitlines()
    assert card[0] == "Batch batch_1  completed"
    assert "  requests     40/40 done, 3 failed" in card
    assert "  finished     2023-11-14T22:16:40Z (after 3m 20s)" in card
    assert "1700000000" not in str(b) and "raw" not in repr(b)


def test_terminal_ipython_shows_the_card_and_a_container_the_short_repr():
    from IPython.lib.pretty import pretty

    b = Batch.from_dict(batch_payload())
    assert pretty(b) == str(b) and pretty([b]) == f"[{b!r}]"


def test_file_object():
    d = {"id": "file-1", "object": "file", "bytes": 12, "created_at": 1, "filename": "a.jsonl",
         "purpose": "batch", "status": "processed", "expires_at": 2, "extra": True}
    f = FileObject.from_dict(d, "req_1")
    assert (f.id, f.bytes, f.filename, f.purpose, f.status, f.expires_at) == ("file-1", 12, "a.jsonl", "batch",
                                                                               "processed", 2)
    assert f.raw["extra"] is True and f.request_id == "req_1"


def test_page_is_list_like():
    items = [Batch.from_dict(batch_payload(batch_id=f"batch_{i}")) for i in range(3)]
    page = Page(items, True, "batch_0", "batch_2")
    assert len(page) == 3 and page[0].id == "batch_0" and [b.id for b in page][-1] == "batch_2"
    assert page[1:][0].id == "batch_1"
    assert page.next_after == "batch_2"
    assert Page(items, False).next_after is None
    assert Page([], True).next_after is None
