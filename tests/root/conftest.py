"""Root-task tests run against moto with the centralized-root-access stand-ins installed."""

from __future__ import annotations

import pytest

from breakglass_aws.journal import SqliteStore
from breakglass_aws.testing import install_root_tasks
from tests.support.root import enable_root_access


@pytest.fixture(autouse=True)
def root_tasks():
    """Installed for every test here; a test may undo it early (then set "undo" to None)."""
    installed = {"undo": install_root_tasks()}
    yield installed
    if installed["undo"] is not None:
        installed["undo"]()


@pytest.fixture
def ready(org):
    """A healthy organization with centralized root access on (trusted access, both features)."""
    enable_root_access()
    return org


@pytest.fixture
def journal_store(tmp_path):
    """The journal the command line writes (the default local store)."""

    def open_it():
        return SqliteStore(tmp_path / "state" / "breakglass" / "journal.sqlite3")

    return open_it
