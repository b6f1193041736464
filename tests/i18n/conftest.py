"""Fixtures the language tests share with the route walk."""
from tests.test_route_access import world  # noqa: F401  (the fixture: one of each kind of account)
