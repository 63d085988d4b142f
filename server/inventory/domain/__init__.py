"""Inventory's pure rules: choosing the warehouse and the bins. No Flask, no sockets, no SQL."""
