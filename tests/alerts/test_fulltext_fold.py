"""Full-text search folds accents and case the same way for ASCII and accented narratives (migration 0009)."""

from __future__ import annotations

from sqlalchemy import select, text

from alerts import fulltext
from alerts.models import Alert
from portal.extensions import db
from tests.alerts.factories import report

# The fold before migration 0009, the reference the fast path must reproduce exactly.
_REFERENCE = ("translate(lower(:value), 'ÁÀÂÄÃÉÈÊËÍÌÎÏÓÒÔÖÕÚÙÛÜÑÇáàâäãéèêëíìîïóòôöõúùûüñç', "
              "'AAAAAEEEEIIIIOOOOOUUUUNCaaaaaeeeeiiiiooooouuuunc')")
SAMPLES = ["Photo substitution, LAMINATE lifted at the edges.", "Sustitución de FOTOGRAFÍA en la página 2.",
           "ÁÀÂÄÃÉÈÊËÍÌÎÏÓÒÔÖÕÚÙÛÜÑÇ áàâäãéèêëíìîïóòôöõúùûüñç", "Faux tampon d'entrée à l'aéroport", "", "123 <<< ---"]


def _found(words: str) -> set[int]:
    return set(db.session.scalars(select(Alert.id).where(fulltext.matching(words))))


def test_accented_and_ascii_narratives_are_found_without_accents(make_user):
    user = make_user(role="liaison_officer", party_code="GTM")
    ascii_alert = report(user, document_number="A1111111", description="Photo substitution on the biodata page.",
                         modus_operandi="Courier from Panama.", detection_tips="Check the LAMINATE edges.")
    accented = report(user, document_number="A2222222", description="SUSTITUCIÓN de fotografía en la página.",
                      modus_operandi="Tramitador en la frontera.", detection_tips="Revisar el laminado.")
    db.session.flush()
    assert _found("laminate edges") == {ascii_alert.id}
    assert _found("photo substitution") == {ascii_alert.id}
    assert _found("sustitucion fotografia") == {accented.id}
    assert _found("SUSTITUCIÓN pagina") == {accented.id}
    assert _found("lamin") == {ascii_alert.id, accented.id}  # the last word is a prefix


def test_fold_matches_the_reference_on_every_engine():
    if db.session.get_bind().dialect.name == "postgresql":
        for value in SAMPLES:
            folded = db.session.scalar(text("SELECT alerts_fold(:value)"), {"value": value})
            assert folded == db.session.scalar(text(f"SELECT {_REFERENCE}"), {"value": value})
        assert db.session.scalar(text("SELECT alerts_fold(NULL)")) is None
    else:
        # SQLite: FTS5 (unicode61, remove_diacritics 2) does the folding; the index must hold folded tokens.
        assert db.session.scalar(text("SELECT count(*) FROM pragma_table_list WHERE name = 'alerts_fts'")) == 1
    assert [" ".join(fulltext.words(value)) for value in SAMPLES[:2]] == [
        "photo substitution laminate lifted at the edges", "sustitucion de fotografia en la pagina 2"]
