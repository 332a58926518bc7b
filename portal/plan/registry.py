"""Which plan-of-action objectives each kind of audited action serves by default.

One registry: ``record()`` looks actions up here when the caller names no objectives. Keys are action
names or their prefixes (``alert.`` covers ``alert.publish``); the longest matching key wins. Every code
is an objective code of ``plan_of_action.json`` (a test checks it); a caller that knows better (an alert
linked to other objectives, say) passes ``objectives=`` to ``record()`` explicitly.

The core's own actions (accounts, sign-in, tokens, the audit log, access decisions) are listed here; each
feature registers its actions' objectives beside its models (``register_action_objectives``), so the
core never names a feature's actions.
"""

from __future__ import annotations

# The 2009 objective on "information, control, and security systems" (8.1: strengthen the capacity of
# special systems for migration management; 8.1.1: equipment, software and infrastructure). The portal,
# the private site of the virtual secretariat, is such a system: running it securely serves MPM-8.
# The texts have no other objective about the virtual secretariat or information systems as such.
INFORMATION_SYSTEMS = "MPM-8"
# The 2009 objective on the information, issuance and security of migration documents; its activity
# 2.2.1 is the IOM manual on the detection of fraudulent documents (the alerts and the library serve it).
DOCUMENT_SECURITY = "MPM-2"

ACTION_OBJECTIVES: dict[str, tuple[str, ...]] = {
    # Accounts, sign-in, API tokens, access decisions and the audit log are the running of the secure
    # information system itself (MPM-8), not of any one substantive objective.
    "auth.": (INFORMATION_SYSTEMS,),
    "user.": (INFORMATION_SYSTEMS,),
    "token.": (INFORMATION_SYSTEMS,),
    "api.": (INFORMATION_SYSTEMS,),
    "audit.": (INFORMATION_SYSTEMS,),
    "access.": (INFORMATION_SYSTEMS,),
}


def register_action_objectives(key: str, codes: tuple[str, ...]) -> None:
    """Declare the objectives that the actions named ``key`` (an action, or a family ending in ``.``) serve."""
    ACTION_OBJECTIVES[key] = tuple(codes)


def objectives_for_action(action: str) -> tuple[str, ...]:
    best = ""
    for key in ACTION_OBJECTIVES:
        if (action == key or (key.endswith(".") and action.startswith(key))) and len(key) > len(best):
            best = key
    return ACTION_OBJECTIVES.get(best, ())
