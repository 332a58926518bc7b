"""Placeholder blueprint (skeleton); replaced by the feature implementation."""

from flask import Blueprint, abort

bp = Blueprint("notifications", __name__, url_prefix="/notifications")

@bp.route("/", methods=["GET", "POST"])
def index():
    abort(404)

