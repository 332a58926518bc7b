"""Placeholder blueprint (skeleton); replaced by the feature implementation."""

from flask import Blueprint, abort

bp = Blueprint("auth", __name__, url_prefix="/auth")

from portal import public  # noqa: E402


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    abort(404)


@bp.route("/logout", methods=["GET", "POST"])
def logout():
    abort(404)


@bp.route("/account", methods=["GET", "POST"])
def account():
    abort(404)

