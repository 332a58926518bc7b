"""The plans of action the portal serves: reference data, pages, and the action -> objective registry."""
