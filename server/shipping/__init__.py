"""Shipping: boxes, packages and their labels, carriers, close-out manifests, tracking events."""
