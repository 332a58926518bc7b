"""Command-line interface (placeholder registration; commands added by the operations work)."""


def register_cli(app):
    return None
