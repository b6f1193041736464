"""Logins of every area: the BASIC gate, sessions, passwords, throttling."""
from .blueprint import bp

# The modules that add views to bp.
from . import views  # noqa: F401

__all__ = ["bp"]
