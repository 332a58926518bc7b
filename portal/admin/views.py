"""Placeholder blueprint (skeleton); replaced by the feature implementation."""

from flask import Blueprint, abort

bp = Blueprint("admin", __name__, url_prefix="/admin")

@bp.route("/users", methods=["GET", "POST"])
def users():
    abort(404)

