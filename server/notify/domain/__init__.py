"""Notify's pure rules: the words a customer reads."""
