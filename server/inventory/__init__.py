"""Inventory: warehouses, bins, products and stock; receiving; allocation and reservations."""
