"""E-mail outbox: messages are queued in the database and sent by ``flask --app portal outbox send``."""
