"""Capture's pure rules: reading a shop's order payloads. No Flask, no sockets, no SQL."""
