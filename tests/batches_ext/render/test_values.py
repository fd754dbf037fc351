"""render.py: what a user sees of a batch, a list, results, a job, a dry run and the settings."""

from __future__ import annotations

from batches_ext import render
from batches_ext.jobs import Job, JobPart, ResultRow, Results
from batches_ext.jsonl import Preflight
from batches_ext.models import Batch

EVIL = "<script>alert(1)</script>"


def batch(**extra) -> Batch:
    payload = {
        "id": "batch_1", "object": "batch", "endpoint": "/v1/chat/completions", "input_file_id": "file-in",
        "completion_window": "24h", "status": "in_progress", "created_at": 1_700_000_000,
        "expires_at": 1_700_086_400, "request_counts": {"total": 10, "completed": 6, "failed": 1},
        "metadata": {"team": EVIL},
    }
    payload.update(extra)
    return Batch.from_dict(payload)


def test_batch_html_shows_status_progress_times_and_escapes() -> None:
    page = render.batch_html(batch())
    assert "batch_1" in page and ">in_progress<" in page
    assert "7/10" in page and "1 failed" in page
    assert "2023-11-14 22:13:20 UTC" in page and "file-in" in page
    assert EVIL not in page and "&lt;script&gt;" in page
    assert render.OFFLINE_LABEL.upper() not in page


def test_offline_marker_on_every_view() -> None:
    b = batch()
    res = Results([ResultRow("a", "ok", 200, {"choices": [{"message": {"content": "hi"}}]})], [b])
    job = Job("job_1", ["batch_1", "batch_2"], [JobPart(1, "batch_1", "f1", 5, 100), JobPart(2, "batch_2", "f2", 3, 60)])
    report = Preflight(lines=3, bytes=120, endpoint="/v1/chat/completions", model="m")
    views = [
        lambda off: render.batch_html(b, offline=off),
        lambda off: render.batches_html([b], offline=off),
        lambda off: render.results_html(res, offline=off),
        lambda off: render.job_html(job, offline=off),
        lambda off: render.preflight_html(report, offline=off),
        lambda off: render.settings_html([("base_url", "https://x", "default")], offline=off),
    ]
    for view in views:
        assert "OFFLINE FAKE" in view(True) and "OFFLINE FAKE" not in view(False)
    texts = [render.batch_text(b, offline=True), render.batches_text([b], offline=True),
             render.preflight_text(report, offline=True), render.settings_text([], offline=True)]
    assert all("offline fake" in t for t in texts)


def test_the_model_repr_uses_render() -> None:
    b = batch(status="cancelling")
    assert b._repr_html_() == render.batch_html(b)
    assert ">cancelling<" in b._repr_html_()  # the raw status, not normalised


def test_batches_html_rows_and_note() -> None:
    rows = [batch(id=f"batch_{i}", status=s) for i, s in enumerate(["completed", "failed", "weird_new_status"])]
    page = render.batches_html(rows, note="status completed")
    assert page.count("<tr data-batch-id=") == 3 and "3 batches" in page and "status completed" in page
    assert "weird_new_status" in page  # unknown statuses shown as they are
    assert "0 batches" in render.batches_html([]) and "<table" not in render.batches_html([])
    text = render.batches_text(rows).splitlines()
    assert text[0].split() == ["id", "status", "progress", "model", "created", "metadata"]
    assert text[1].split()[:5] == ["batch_0", "completed", "7/10", "done,", "1"]
    assert text[-1] == "3 batches" and render.batches_text(rows[:1]).endswith("\n1 batch")


def test_the_static_list_fits_its_width_and_hides_our_own_tags() -> None:
    tagged = batch(id="batch_" + "f" * 32, model="gpt-4o-mini", metadata={"run": "nightly", "batches_ext_job": "job_1",
                                                     "batches_ext_part": "1/2", "batches_ext_intent": "i-1"})
    page = render.batches_html([tagged])
    assert "table-layout:fixed;width:100%" in page  # the columns share the output area, whatever its width
    assert ">run=nightly<" in page and "batches_ext_" not in page and "job_1" not in page
    assert f">{tagged.id}</code>" in page  # the whole id, to copy
    assert "title='gpt-4o-mini · /v1/chat/completions'" in page  # the endpoint on the model's tooltip
    text = render.batches_text([tagged])  # the terminal's list: the same columns, the same tags hidden
    assert "gpt-4o-mini" in text and "run=nightly" in text and "batches_ext_" not in text


def test_batch_html_lists_validation_errors_with_lines() -> None:
    b = batch(status="failed", errors={"data": [{"code": "invalid_json", "message": EVIL, "line": 3}]})
    page = render.batch_html(b)
    assert "line 3" in page and "invalid_json" in page and EVIL not in page


def test_results_html_counts_truncates_and_escapes() -> None:
    rows = [ResultRow(f"r{i}", "ok", 200, {"choices": [{"message": {"content": f"answer {i}"}}]}) for i in range(60)]
    rows.append(ResultRow("bad", "error", 400, None, "invalid_request", EVIL))
    page = render.results_html(Results(rows, [batch()]), max_rows=50)
    assert "61 results" in page and "answer 0" in page and "answer 55" not in page
    assert "11 more rows" in page and "from batch_1" in page
    small = render.results_html(Results(rows[-2:]))
    assert "invalid_request" in small and EVIL not in small and "&lt;script&gt;" in small


def test_job_html_parts_and_live_status() -> None:
    job = Job("job_1", ["batch_1", "batch_2"], [JobPart(1, "batch_1", "f1", 5, 1000), JobPart(2, "batch_2", "f2", 3, 600)],
              endpoint="/v1/embeddings", retry_of="batch_0")
    page = render.job_html(job, batches=[batch(id="batch_2", status="completed")])
    assert "job_1" in page and "1/2" in page and "2/2" in page and "1,000" in page
    assert ">completed<" in page and "retry of batch_0" in page and "/v1/embeddings" in page


def test_dry_run_text_says_nothing_was_created() -> None:
    report = Preflight(lines=50_001, bytes=3_000_000, endpoint="/v1/embeddings", model="e", needs_split=True)
    text = render.preflight_text(report)
    assert "50,001 lines" in text and "3,000,000 bytes" in text and "several batches" in text
    assert "nothing created" in text and "Dry run: nothing created" in render.preflight_html(report)


def test_a_validating_batch_is_queued_not_zero_of_zero() -> None:
    waiting = batch(status="validating", request_counts={"total": 0, "completed": 0, "failed": 0})
    page = render.batch_html(waiting)
    assert ">queued<" in page and "0/0" not in page
    assert render.progress_text(waiting) == "queued" and "0/0" not in str(waiting)
    failed = batch(status="failed", request_counts={"total": 0, "completed": 0, "failed": 0})
    assert render.progress_text(failed) == "none run"


def test_a_failed_batch_lists_a_repeated_message_once_with_its_count() -> None:
    errors = [{"code": "model_not_found", "message": "The model 'gpt-x' does not exist.", "line": n}
              for n in range(1, 23)] + [{"code": "invalid_json_line", "message": "not valid JSON", "line": 30}]
    b = batch(status="failed", errors={"data": errors})
    page = render.batch_html(b)
    assert page.count("model_not_found") == 1 and "(22 lines: 1–22)" in page and "(line 30)" in page
    card = str(b).splitlines()
    assert "    model_not_found: The model 'gpt-x' does not exist. (22 lines: 1–22)" in card
    assert "    invalid_json_line: not valid JSON (line 30)" in card


def test_counts_read_in_words() -> None:
    assert [render.plural(n, "batch") for n in (0, 1, 2, 50_000)] == ["0 batches", "1 batch", "2 batches",
                                                                     "50,000 batches"]
    assert render.plural(1, "line") == "1 line" and render.plural(3, "more problem") == "3 more problems"
    assert render.lines_text([1, 2, 3, 7, 9, 10]) == "lines 1–3, 7, 9–10"
    assert render.iso_text(1_700_000_000) == "2023-11-14T22:13:20Z"


def test_our_own_tags_never_show_as_the_users_metadata() -> None:
    b = batch(metadata={"project": "q", "batches_ext_intent": "a771b698", "batches_ext_job": "job_1",
                        "batches_ext_part": "1/2"})
    for view in (render.batch_text(b), render.batch_html(b)):
        assert "project=q" in view and "batches_ext_intent" not in view and "a771b698" not in view
    assert render.user_metadata(b.metadata) == {"project": "q"}


def test_a_jobs_parts_say_how_they_ended() -> None:
    from batches_ext.render import job_progress

    def job(*states: str) -> Job:
        parts = [JobPart(i, f"batch_{i}", f"f{i}", 5, 100, state=s) for i, s in enumerate(states, start=1)]
        return Job("job_1", [p.batch_id for p in parts], parts)

    assert job_progress(job("completed", "completed")) == "2/2 parts done"
    assert job_progress(job("cancelled")) == "1/1 parts over: 1 cancelled"  # not "1/1 parts done"
    assert job_progress(job("completed", "failed", "in_progress", "pending")) == \
        "2/4 parts over: 1 failed, 1 completed, 1 running, 1 pending"
    cut = job("completed", "pending", "pending")  # a submit killed during its uploads: parts 2, 3 never sent
    for part in cut.parts[1:]:
        part.batch_id = part.input_file_id = None
    assert job_progress(cut) == "1/3 parts done, 2 parts never uploaded (submit interrupted; 10 lines: retry with inputs=)"
    gone = job("in_progress")
    gone.gone = True
    assert job_progress(gone) == "1 part, state unknown (its offline fake is gone)"
