"""The auth blueprint itself, apart from the modules that add its views (so
that they import it without importing the package that imports them)."""
from flask import Blueprint

bp = Blueprint("auth", __name__)
