"""Fixtures for the operations tests: PostgreSQL clusters of their own (the
shared server is never stopped or loaded). The servers, programs and
processes they start are in tests/support/servers.py."""
from __future__ import annotations

import pytest

from tests.support.servers import PgDatabases, PrivateCluster, PrivateClusterDatabases


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "tests/operations" in str(item.fspath):
            item.add_marker(pytest.mark.operations)


@pytest.fixture(scope="session")
def pg_databases():
    """Databases on a private PostgreSQL cluster for the whole run: the shared
    server is left alone (a DROP DATABASE there waits for a checkpoint of
    everyone's data), and the cluster's folder is simply removed at the end."""
    cluster = PrivateCluster()
    cluster.start()
    yield PgDatabases(cluster.url)
    cluster.remove()


@pytest.fixture(scope="session")
def databases(tmp_path_factory, pg_databases):
    """tests/conftest.py's `databases` for the operations tests (app, client …)."""
    return PrivateClusterDatabases(tmp_path_factory, pg_databases)


@pytest.fixture
def private_cluster():
    cluster = PrivateCluster()
    cluster.start()
    yield cluster
    cluster.remove()
