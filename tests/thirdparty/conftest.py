"""Third-party batch clients run as shipped against the loopback fake, in their own interpreter.

They are installed from PyPI in their own environment, because their pins would change the project's
(instructor 1.x pins jiter<0.15 and rich<15, which takes openai down to 3.3; bespokelabs-curator pins
pandas==2.2.2 and litellm): `pip install -e '.[thirdparty]'` in a separate venv, found through
`FAKE_SERVER_THIRDPARTY_PYTHON` or at `.ci/thirdparty/bin/python` (or the running interpreter when it has
them). Each test skips, with the reason, when its client is absent.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = Path(__file__).parent / "scripts"


def _interpreter() -> str | None:
    configured = os.environ.get("FAKE_SERVER_THIRDPARTY_PYTHON")
    if configured:
        return configured
    venv = ROOT / ".ci" / "thirdparty" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


def _has(python: str, module: str) -> bool:
    probe = subprocess.run([python, "-c", f"import importlib.util, sys; "
                                          f"sys.exit(importlib.util.find_spec({module!r}) is None)"],
                           capture_output=True, timeout=60)
    return probe.returncode == 0


@pytest.fixture(scope="session")
def thirdparty_python():
    """`python(package)` -> the interpreter that has `package`, or a skip saying how to get it."""
    python = _interpreter()

    def find(module: str, package: str) -> str:
        if python is None or not _has(python, module):
            pytest.skip(f"{package} is not installed (python -m venv .ci/thirdparty && "
                        f".ci/thirdparty/bin/pip install '{package}'; or set FAKE_SERVER_THIRDPARTY_PYTHON)")
        return python

    return find


def run_script(python: str, script: str, base_url: str, home: Path, timeout: float = 240
               ) -> subprocess.CompletedProcess:
    """Run tests/thirdparty/scripts/<script> against `base_url`, as a user would: OPENAI_BASE_URL and a key.

    `home` holds whatever the client caches (curator writes its cache under ~/.cache/curator). Their network
    habits are turned off: curator's telemetry and viewer, litellm's model-cost download, Hugging Face hubs.
    tiktoken is not needed by either client in batch mode (curator counts tokens with it only online)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("OPENAI_", "PYTHON"))}
    env.update({"OPENAI_BASE_URL": base_url, "OPENAI_API_KEY": "sk-thirdparty", "HOME": str(home),
                "CURATOR_CACHE_DIR": str(home / "curator"), "CURATOR_DISABLE_CACHE": "true",
                "CURATOR_VIEWER": "0", "TELEMETRY_ENABLED": "false", "LITELLM_LOCAL_MODEL_COST_MAP": "True",
                "HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1", "HF_HOME": str(home / "hf")})
    return subprocess.run([python, str(SCRIPTS / script)], env=env, capture_output=True, text=True, timeout=timeout)
