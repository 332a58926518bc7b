"""The RCM secure portal: ``create_app()`` builds the Flask application."""

from __future__ import annotations

from collections.abc import Mapping
from importlib import import_module

from flask import Flask, g, request, session
from flask_login import current_user

from portal import config as settings
from portal.extensions import babel, bootstrap, csrf, db, limiter, login_manager, migrate
from portal.principal import Principal
from portal.routing import DatabaseIntConverter

# Blueprints, registered here only: the core never imports a feature package anywhere else.
BLUEPRINTS = (
    "portal.dashboard.views",
    "portal.i18n",
    "auth.views",
    "portal.admin.views",
    "portal.audit.views",
    "portal.plan.views",
    "portal.notices.views",
    "portal.notifications.views",
    "portal.api",
    "alerts.api",
    "portal.directory.views",
    "portal.directory.api",
    "alerts.views",
    "alerts.bulk_views",
    "alerts.confirmation_views",
    "alerts.confirmation_api",
    "alerts.print_views",
    "alerts.subscription_views",
    "alerts.attachment_views",
    "documents.views",
    "documents.api",
    "alerts.attachment_api",
    "portal.exchange.views",
    "portal.exchange.api",
    "portal.exchange.attachment_views",
    "portal.health",
    "portal.reporting.views",
    "portal.reporting.spreadsheet_views",
    "portal.reporting.api",
)
# Command modules, registered here like the blueprints: each exposes ``commands`` (click commands and groups).
CLI_GROUPS = (
    "portal.cli",
    "auth.cli",
    "portal.audit.cli",
    "portal.outbox.cli",
    "portal.directory.cli",
    "alerts.cli",
    "documents.cli",
    "portal.reporting.cli",
)
# Features that add application-wide hooks beyond their blueprints: each exposes ``init_app(app)``.
FEATURE_HOOKS = ("documents", "portal.reporting")
# Each feature's phrasings of its audited actions, read by the audit viewer (``portal.audit.phrasing``).
AUDIT_PHRASINGS = (
    "alerts.audit_phrasings",
    "documents.audit_phrasings",
    "portal.exchange.audit_phrasings",
    "portal.directory.audit_phrasings",
    "portal.notices.audit_phrasings",
    "portal.admin.audit_phrasings",
    "portal.reporting.audit_phrasings",
)
# Modules whose models must be imported so the metadata (and Alembic) sees them.
MODEL_MODULES = (
    "portal.parties.models",
    "auth.models",
    "portal.audit.models",
    "portal.outbox.models",
    "portal.notifications.models",
    "portal.notices.models",
    "alerts.models",
    "portal.directory.models",
    "portal.exchange.models",
    "documents.models",
    "alerts.attachments",
    "alerts.confirmations",
    "portal.exchange.attachments",
    "portal.reporting.models",
)


def create_app(config: Mapping | None = None) -> Flask:
    """Application factory; ``config`` overrides settings (e.g. ``SQLALCHEMY_DATABASE_URI``)."""
    app = Flask(
        __name__,
        template_folder=str(settings.REPO_ROOT / "templates"),
        static_folder="static",
        instance_path=str(settings.instance_path()),
    )
    from portal.json_request import PortalRequest

    app.request_class = PortalRequest
    app.config.update(settings.STATIC_SETTINGS)
    app.config.update(settings.load_settings())
    if config:
        app.config.update(config)

    if app.config["TRUSTED_PROXIES"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    from portal.keyring import install_keyring, load_keyring

    install_keyring(app, load_keyring(app.config["KEYRING_FILE"], app.config["KEYRING_GENERATE"]))

    for module in MODEL_MODULES:
        import_module(module)
    from portal.database import engine_options

    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {**engine_options(app.config["SQLALCHEMY_DATABASE_URI"]),
                                               **app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {})}
    db.init_app(app)
    with app.app_context():
        from portal.database import configure_engine

        configure_engine(db.engine)
    migrate.init_app(app, db, directory=str(settings.REPO_ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    bootstrap.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "basic"
    login_manager.login_message = None  # the login page says it itself; no untranslated flash
    import_module("auth.sessions")  # registers the user loader (server-side session check)

    from portal import errors, i18n, observability, security, transaction
    from portal.outbox import service as outbox_service

    observability.init_app(app)
    babel.init_app(app, locale_selector=i18n.select_locale)
    security.init_app(app)
    transaction.init_app(app)
    outbox_service.init_app(app)
    errors.init_app(app)
    _install_request_hooks(app)
    from portal.audit import witness

    witness.init_app(app)

    app.url_map.converters["int"] = DatabaseIntConverter  # before any route is added
    for module in BLUEPRINTS:
        app.register_blueprint(import_module(module).bp)
    for module in CLI_GROUPS:
        for command in import_module(module).commands:
            app.cli.add_command(command)
    for module in FEATURE_HOOKS:
        import_module(module).init_app(app)
    for module in AUDIT_PHRASINGS:
        import_module(module)
    from portal.templating import init_app as init_templating

    init_templating(app)
    return app


def _install_request_hooks(app: Flask) -> None:
    @app.before_request
    def _identify_and_require_login():
        g.principal = None
        if request.path.startswith("/api/"):
            return None  # the API authenticates with bearer tokens only (auth.tokens.token_required)
        if current_user.is_authenticated:
            g.principal = Principal.for_user(current_user)
            return None
        view = app.view_functions.get(request.endpoint)
        if request.endpoint is None or getattr(view, "is_public", False) or request.endpoint.endswith("static"):
            return None
        if session.pop("expired", False):
            from flask import flash
            from flask_babel import gettext

            flash(gettext("Your session has expired. Please sign in again."), "warning")
        return login_manager.unauthorized()

