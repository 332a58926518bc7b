"""The continent of every ISO 3166-1 country (alpha-2 codes, by the UN M49 regions; the Americas as one),
for grouping the extra-regional flows by continent. pycountry has no continents; a test holds this table
to every country pycountry knows."""

from __future__ import annotations

from functools import cache

import pycountry
from flask_babel import lazy_gettext as _l

CONTINENTS = {
    "africa": _l("Africa"),
    "americas": _l("Americas"),
    "asia": _l("Asia"),
    "europe": _l("Europe"),
    "oceania": _l("Oceania"),
    "antarctica": _l("Antarctica"),
}

_MEMBERS = {
    "africa": "DZ AO BJ BW BF BI CV CM CF TD KM CD CG CI DJ EG GQ ER SZ ET GA GM GH GN GW KE LS LR LY MG MW ML "
              "MR MU YT MA MZ NA NE NG RE RW SH ST SN SC SL SO ZA SS SD TZ TG TN UG EH ZM ZW",
    "americas": "AI AG AW BS BB BZ BM BQ VG CA KY CR CU CW DM DO SV GL GD GP GT HT HN JM MQ MX MS NI PA PR BL KN "
                "LC MF PM VC SX TT TC US VI UM AR BO BR CL CO EC FK GF GY PY PE SR UY VE",
    "asia": "AF AM AZ BH BD BT BN KH CN CY GE HK IN ID IR IQ IL JP JO KZ KP KR KW KG LA LB MO MY MV MN MM NP OM "
            "PK PS PH QA SA SG LK SY TW TJ TH TL TR TM AE UZ VN YE IO CX CC",
    "europe": "AX AL AD AT BY BE BA BG HR CZ DK EE FO FI FR DE GI GR GG VA HU IS IE IM IT JE LV LI LT LU MT MD MC "
              "ME NL MK NO PL PT RO RU SM RS SK SI ES SJ SE CH UA GB",
    "oceania": "AS AU CK FJ PF GU KI MH FM NR NC NZ NU NF MP PW PG PN WS SB TK TO TV VU WF",
    "antarctica": "AQ BV GS HM TF",
}
CONTINENT_OF_ALPHA2 = {code: continent for continent, codes in _MEMBERS.items() for code in codes.split()}


@cache
def continent_of(alpha3: str) -> str | None:
    """The continent key of an ISO 3166-1 alpha-3 code (None: no such country)."""
    country = pycountry.countries.get(alpha_3=alpha3)
    return CONTINENT_OF_ALPHA2.get(country.alpha_2) if country is not None else None
