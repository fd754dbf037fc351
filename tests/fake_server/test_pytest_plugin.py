"""The pytest plugin (loaded through the `pytest11` entry point), exercised with `pytester`."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]  # here, not in tests/fake_server/conftest.py: pytest rejects it in a non-root conftest


def test_fake_batches_is_fresh_per_test_on_a_manual_clock(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        from fake_server.clock import ManualClock

        def test_one(fake_batches):
            assert isinstance(fake_batches.clock, ManualClock)
            fake_batches.seed_batch("in_progress")
            assert len(fake_batches.batches()) == 1

        def test_two(fake_batches):
            assert fake_batches.batches() == []
        """
    )
    pytester.runpytest().assert_outcomes(passed=2)


def test_fake_batches_server_shares_one_port_but_not_state(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import requests

        PORTS = []
        AUTH = {"Authorization": "Bearer sk-plugin"}

        def test_one(fake_batches_server):
            PORTS.append(fake_batches_server.port)
            fake_batches_server.fake.seed_batch()
            r = requests.get(fake_batches_server.base_url + "/batches", headers=AUTH, timeout=5)
            assert len(r.json()["data"]) == 1

        def test_two(fake_batches_server):
            PORTS.append(fake_batches_server.port)
            assert PORTS[0] == PORTS[1]
            r = requests.get(fake_batches_server.base_url + "/batches", headers=AUTH, timeout=5)
            assert r.json()["data"] == []
            assert fake_batches_server.fake.clock.now() == 1_700_000_000
        """
    )
    pytester.runpytest().assert_outcomes(passed=2)


def test_fake_batches_session_and_openai_client(pytester: pytest.Pytester) -> None:
    pytest.importorskip("openai")
    pytester.makepyfile(
        """
        def test_session(fake_batches, fake_batches_session):
            fake_batches.seed_batch()
            r = fake_batches_session.get("https://api.openai.com/v1/batches",
                                         headers={"Authorization": "Bearer sk-x"})
            assert r.status_code == 200 and len(r.json()["data"]) == 1

        def test_client(fake_batches, fake_openai_client):
            batch = fake_batches.seed_batch("completed", requests=2)
            assert fake_openai_client.max_retries == 0
            assert fake_openai_client._strict_response_validation is True
            assert fake_openai_client.batches.retrieve(batch["id"]).request_counts.completed == 2
        """
    )
    pytester.runpytest().assert_outcomes(passed=2)


def test_fake_openai_client_skips_with_a_reason_without_openai(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
        import sys
        import pytest

        @pytest.fixture(autouse=True)
        def _no_openai(monkeypatch):
            monkeypatch.setitem(sys.modules, "openai", None)
        """
    )
    pytester.makepyfile(
        """
        def test_client(fake_openai_client):
            raise AssertionError("not reached")
        """
    )
    result = pytester.runpytest("-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*fake_openai_client needs the openai package*"])


def test_every_fixture_says_what_it_is_and_the_session_is_authorised(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_session(fake_batches, fake_batches_session):
            fake_batches.seed_batch()
            r = fake_batches_session.get("https://api.openai.com/v1/batches")  # no header of its own: not a 401
            assert r.status_code == 200 and len(r.json()["data"]) == 1
        """
    )
    pytester.runpytest().assert_outcomes(passed=1)
    listed = pytester.runpytest("--fixtures").stdout.str()
    for name in ("fake_batches", "fake_batches_server", "fake_batches_session", "fake_openai_client"):
        block = listed.split(f"\n{name} ", 1)[1].split("\n\n", 1)[0]
        assert "no docstring available" not in block and len(block.splitlines()) >= 2, (name, block)
