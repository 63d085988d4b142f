"""Capture: orders in by REST, CSV import and the shops' webhooks; channels, cancels, geocoding."""
