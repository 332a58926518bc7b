"""Parties (member and observer countries, the Technical Secretariat, organisations) and networks."""
