"""Every test gets its own batches_ext data directory (the job journal), so no test reads or writes the user's
journal, and no two tests see each other's jobs. Subprocesses (kernels, notebooks) inherit it."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _own_journal(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATCHES_EXT_HOME", str(tmp_path_factory.mktemp("batches_ext_home")))
