"""Accounts, login, two-factor, sessions, API tokens and the permission registry."""
