"""ISECA merchant platform: the application factory."""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from . import config as config_module
from .extensions import csrf, db, htmx, limiter, login_manager, mail, migrate

ROOT = Path(__file__).resolve().parent.parent


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app: defaults, then ISECA_* environment, then `test_config`."""
    app = Flask(
        __name__,
        instance_path=str(ROOT / "instance"),
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    app.config.from_mapping(config_module.DEFAULTS)
    app.config.from_prefixed_env("ISECA")
    if test_config:
        app.config.from_mapping(test_config)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    if not app.config["SQLALCHEMY_DATABASE_URI"]:
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{Path(app.instance_path) / 'iseca.sqlite3'}"
    config_module.load_secret_key(app)
    config_module.apply_production_rules(app)

    from .web import requestlog

    requestlog.init_app(app)  # first: the request id exists before any other hook can answer

    if app.config["PROXY_FIX_HOPS"]:
        hops = int(app.config["PROXY_FIX_HOPS"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]

    from . import connections

    connections.install_sqlite_pragmas()
    connections.install_disconnect_check()
    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True, compare_type=True)
    from .web import converters, inputs

    # First of the request hooks: no check, guard, view or query reads a
    # request the app refuses (an oversized body is a 413 here, not a CSRF error).
    inputs.init_app(app)
    csrf.init_app(app)
    mail.init_app(app)
    htmx.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    from . import i18n

    i18n.init_app(app)

    from . import (
        models,  # noqa: F401  (register the mappings)
        sessions,
        web,
    )
    from .auth import bp as auth_bp
    from .auth import gate
    from .cms import bp as cms_bp
    from .counter import bp as counter_bp
    from .public import bp as public_bp
    from .terminal import bp as terminal_bp
    from .wallet import bp as wallet_bp

    sessions.init_login_manager(login_manager)
    converters.init_app(app)
    gate.init_app(app)
    web.init_app(app)

    from . import health

    health.init_app(app)
    app.register_blueprint(health.bp)
    from .web.language import bp as language_bp

    app.register_blueprint(language_bp)
    app.register_blueprint(public_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(cms_bp, url_prefix="/cms")
    app.register_blueprint(terminal_bp, url_prefix="/terminal")
    app.register_blueprint(wallet_bp, url_prefix="/wallet")
    app.register_blueprint(counter_bp, url_prefix="/counter")

    from .cli import register_cli

    register_cli(app)
    return app
