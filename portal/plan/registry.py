"""Which plan-of-action objectives each kind of audited action serves by default.

One registry: ``record()`` looks actions up here when the caller names no objectives. Keys are action
names or their prefixes (``alert.`` covers ``alert.publish``); the longest matching key wins.
"""

from __future__ import annotations

ACTION_OBJECTIVES: dict[str, tuple[str, ...]] = {
    # Filled in with the plan's codes (see portal/plan/plan_of_action.json).
}


def objectives_for_action(action: str) -> tuple[str, ...]:
    best = ""
    for key in ACTION_OBJECTIVES:
        if (action == key or (key.endswith(".") and action.startswith(key))) and len(key) > len(best):
            best = key
    return ACTION_OBJECTIVES.get(best, ())
