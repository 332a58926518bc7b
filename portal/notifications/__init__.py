"""In-app notifications (the bell in the navigation bar)."""
