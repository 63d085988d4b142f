"""Shipping's pure rules: box choice, carriers and rates, shipping labels, tracking statuses."""
