"""Logins of every area: the BASIC gate, the login and password pages and
the guard of each area (the sessions and password rules they use are
plumbing: iseca/sessions.py, iseca/passwords.py)."""
from . import views  # noqa: F401  (each adds its views to bp)
from .blueprint import bp

__all__ = ["bp"]
