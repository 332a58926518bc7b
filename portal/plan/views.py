"""Placeholder blueprint (skeleton); replaced by the feature implementation."""

from flask import Blueprint, abort

bp = Blueprint("plan", __name__, url_prefix="/plan")

@bp.route("/", methods=["GET", "POST"])
def index():
    abort(404)

