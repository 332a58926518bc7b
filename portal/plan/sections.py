"""Sections that features add to an objective's page: what the portal holds under that objective beyond
the audit counts (a reporting cycle's compliance and figures, say).

A feature registers a callable ``section(code, principal) -> Markup | None`` beside its hooks; the plan
page shows each non-empty answer in registration order. The callable reads through ``portal.access`` like
any page, so a section shows only what the viewer may see. The core never imports the feature.
"""

from __future__ import annotations

from collections.abc import Callable

_SECTIONS: list[Callable] = []


def register_objective_section(section: Callable) -> None:
    if section not in _SECTIONS:
        _SECTIONS.append(section)


def objective_sections(code: str, principal) -> list:
    """The rendered sections for the objective ``code`` (empty answers left out)."""
    return [html for html in (section(code, principal) for section in _SECTIONS) if html]
