"""Placeholder blueprint (skeleton); replaced by the feature implementation."""

from flask import Blueprint, abort

bp = Blueprint("notices", __name__, url_prefix="/notices")


@bp.get("/")
def index():
    abort(404)


@bp.get("/<int:notice_id>")
def detail(notice_id):
    abort(404)
