"""Notices: short bulletins a party posts to others (meeting calls, circulars). The first shareable model."""
