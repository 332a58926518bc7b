"""Network directories: liaison officers and focal points, their networks and roles, and who takes part.

Personal data (name, e-mail, phones) is stored encrypted; names are found through blind indexes of the
whole normalised name and of each of its tokens (see ``portal.directory.indexes``). Input is checked in
``validation``, read (always through ``portal.access``) in ``queries``, changed in ``operations``;
staleness reminders are ``reminders``.
"""
