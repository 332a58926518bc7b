"""Which plan-of-action objectives each kind of audited action serves by default.

One registry: ``record()`` looks actions up here when the caller names no objectives. Keys are action
names or their prefixes (``alert.`` covers ``alert.publish``); the longest matching key wins. Every code
is an objective code of ``plan_of_action.json`` (a test checks it); a caller that knows better (an alert
linked to other objectives, say) passes ``objectives=`` to ``record()`` explicitly.
"""

from __future__ import annotations

# The 2009 objective on the information, issuance and security of migration documents; its activity
# 2.2.1 is the IOM manual on the detection of fraudulent documents.
_DOCUMENT_SECURITY = "MPM-2"
# The 2009 objective on "information, control, and security systems" (8.1: strengthen the capacity of
# special systems for migration management; 8.1.1: equipment, software and infrastructure). The portal,
# the private site of the virtual secretariat, is such a system: running it securely serves MPM-8.
# The texts have no other objective about the virtual secretariat or information systems as such.
_INFORMATION_SYSTEMS = "MPM-8"

ACTION_OBJECTIVES: dict[str, tuple[str, ...]] = {
    # The early-warning database itself: ERX-INF-4 ("Develop an early warning system: maintain on the
    # private site of the virtual secretariat a database ... on false documents and travel documents
    # obtained fraudulently") and the 2009 document-security objective it carries forward.
    "alert.": ("ERX-INF-4", _DOCUMENT_SECURITY),
    # Intelligence exchange between member countries: ERX-COO-1 (exchange intelligence on immigration
    # control, specimens of travel documents, and police intelligence on how travel documents are
    # obtained fraudulently) and ERX-COO-3 (monitor extra-regional flows and routes by exchanging
    # intelligence on immigration control).
    "exchange.": ("ERX-COO-1", "ERX-COO-3"),
    "submission.": ("ERX-COO-1", "ERX-COO-3"),
    # The network directories are the liaison-officer networks' own tool: MPM-3 (3.1, a mechanism to
    # follow up on the activities of the network - the Traffic Network, LON-SMT), HR-2 (2.2 and 2.3,
    # consular protection and monitoring the Consular Network, LON-CP), ERX-COP-1 (the network of
    # consulates in Washington, run by LON-CP) and ERX-COP-3 (follow-up in the framework of LON-SMT).
    "directory.": ("MPM-3", "HR-2", "ERX-COP-1", "ERX-COP-3"),
    "network.": ("MPM-3", "HR-2", "ERX-COP-1", "ERX-COP-3"),
    # The document library holds specimens of travel documents (ERX-COO-1, activity 2: "regularly
    # exchange information on specimens") and material such as the IOM manual on detecting fraudulent
    # documents (MPM-2, activity 2.2.1).
    "library.": ("ERX-COO-1", _DOCUMENT_SECURITY),
    "document.": ("ERX-COO-1", _DOCUMENT_SECURITY),
    # Accounts, sign-in, API tokens, access decisions, the audit log and notices are the running of the
    # secure information system itself (MPM-8), not of any one substantive objective.
    "auth.": (_INFORMATION_SYSTEMS,),
    "user.": (_INFORMATION_SYSTEMS,),
    "token.": (_INFORMATION_SYSTEMS,),
    "api.": (_INFORMATION_SYSTEMS,),
    "audit.": (_INFORMATION_SYSTEMS,),
    "access.": (_INFORMATION_SYSTEMS,),
    "notice.": (_INFORMATION_SYSTEMS,),
}


def objectives_for_action(action: str) -> tuple[str, ...]:
    best = ""
    for key in ACTION_OBJECTIVES:
        if (action == key or (key.endswith(".") and action.startswith(key))) and len(key) > len(best):
            best = key
    return ACTION_OBJECTIVES.get(best, ())
