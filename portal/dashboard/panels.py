"""The dashboard's panels: each feature registers what it shows on the first screen.

The dashboard belongs to the core, and the core never imports a feature package; so a feature registers
a panel (at import of its views, which ``create_app()`` does) and the dashboard renders every panel that
the viewer's permissions allow, in order. A panel's loader reads through the access module like every
other page, so it shows only what the viewer may see.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Panel:
    name: str
    template: str  # rendered with the loader's mapping as its context
    load: Callable[[object], dict]  # principal -> template context
    permission: str | None = None  # shown only to holders of this permission
    order: int = 100


_PANELS: dict[str, Panel] = {}


def register_panel(name: str, *, template: str, load: Callable[[object], dict], permission: str | None = None,
                   order: int = 100) -> None:
    """Declare a dashboard panel (registering the same name again replaces it)."""
    _PANELS[name] = Panel(name, template, load, permission, order)


def panels_for(principal) -> list[tuple[Panel, dict]]:
    """The panels ``principal`` may see, each with its loaded context, in display order."""
    shown = [panel for panel in _PANELS.values() if panel.permission is None or principal.can(panel.permission)]
    return [(panel, panel.load(principal)) for panel in sorted(shown, key=lambda panel: (panel.order, panel.name))]
