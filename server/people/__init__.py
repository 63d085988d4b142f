"""People: users and passwords, API keys and device tokens, the audit log."""
