"""Placeholder blueprint (skeleton); replaced by the feature implementation."""

from flask import Blueprint, abort

bp = Blueprint("audit", __name__, url_prefix="/audit")

@bp.route("/", methods=["GET", "POST"])
def index():
    abort(404)

