"""How the audit viewer phrases the audited actions of alerts, and names their records
(``portal.audit.phrasing``): imported by ``create_app`` (``AUDIT_PHRASINGS``)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from portal.audit.phrasing import register_action_phrasings, register_object_kind

register_action_phrasings({
    "alert.acknowledge": (_l("acknowledged %(object)s"), _l("acknowledge %(object)s")),
    "alert.acknowledgements": (_l("viewed who acknowledged %(object)s"), _l("view who acknowledged %(object)s")),
    "alert.bulletin": (_l("downloaded a weekly bulletin of alerts"), _l("download a weekly bulletin of alerts")),
    "alert.card": (_l("downloaded the quick-check card of %(object)s"),
                    _l("download the quick-check card of %(object)s")),
    "alert.check": (_l("checked a document against the alerts"), _l("check a document against the alerts")),
    "alert.check_batch": (_l("checked a batch of documents against the alerts"),
                           _l("check a batch of documents against the alerts")),
    "alert.create": (_l("created %(object)s"), _l("create %(object)s")),
    "alert.digest": (_l("sent the digest of new alerts"), _l("send the digest of new alerts")),
    "alert.expire": (_l("marked %(object)s as expired"), _l("mark %(object)s as expired")),
    "alert.export": (_l("exported alerts"), _l("export alerts")),
    "alert.import": (_l("imported alerts from a file"), _l("import alerts from a file")),
    "alert.notify": (_l("notified the recipients of %(object)s"), _l("notify the recipients of %(object)s")),
    "alert.publish": (_l("published %(object)s"), _l("publish %(object)s")),
    "alert.reshare": (_l("shared %(object)s with the network's new members"),
                       _l("share %(object)s with the network's new members")),
    "alert.search": (_l("searched the alerts"), _l("search the alerts")),
    "alert.subscribe": (_l("subscribed to new alerts"), _l("subscribe to new alerts")),
    "alert.unsubscribe": (_l("removed an alert subscription"), _l("remove an alert subscription")),
    "alert.update": (_l("edited %(object)s"), _l("edit %(object)s")),
    "alert.view": (_l("opened %(object)s"), _l("open %(object)s")),
    "alert.withdraw": (_l("withdrew %(object)s"), _l("withdraw %(object)s")),
    "attachment.list": (_l("listed the specimen images of an alert"), _l("list the specimen images of an alert")),
    "attachment.view": (_l("viewed %(object)s"), _l("view %(object)s")),
    "confirmation.request": (_l("asked the reporting party to confirm a hit (%(object)s)"),
                              _l("ask the reporting party to confirm a hit (%(object)s)")),
    "confirmation.answer": (_l("answered %(object)s"), _l("answer %(object)s")),
    "confirmation.view": (_l("opened %(object)s"), _l("open %(object)s")),
    "confirmation.overdue": (_l("reminded the reporting party of overdue %(object)s"),
                              _l("remind the reporting party of overdue %(object)s")),
    "confirmation.response_time": (_l("set the party's response time for hit confirmations"),
                                    _l("change the party's response time for hit confirmations")),
    "confirmation.statistics": (_l("viewed the parties' response times to hit confirmations"),
                                 _l("view the parties' response times to hit confirmations")),
})
register_object_kind("alert", _l("alert %(ref)s"), "alerts.detail", "alert_id")
register_object_kind("attachment", _l("specimen image %(ref)s"))
register_object_kind("hit_confirmation", _l("hit confirmation request %(ref)s"), "alert_confirmations.detail", "confirmation_id")
register_object_kind("alert_subscription", _l("alert subscription %(ref)s"))
