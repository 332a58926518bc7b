"""Periodic reporting (issue 13): templates as data, cycles with a due date, each party's return with its
versions, the compliance board, spreadsheets both ways, reminders and the consolidated tables."""


def init_app(app) -> None:
    """Have ``flask setup`` load the seeded templates, and the objective pages show the cycles
    (``portal.FEATURE_HOOKS``)."""
    from portal.cli_support import register_reference_data
    from portal.plan.sections import register_objective_section
    from portal.reporting.catalogue import load_reporting_templates
    from portal.reporting.plan_section import objective_section

    register_reference_data(load_reporting_templates)
    register_objective_section(objective_section)
