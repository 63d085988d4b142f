"""Telling the shops and the customers: signed webhooks out, shipping e-mails, and their workers."""
