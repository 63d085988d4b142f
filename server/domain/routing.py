"""Walking order inside a warehouse.

First version: the S-shape (serpentine) route: aisles in ascending order,
bays up the odd aisles and down the even ones, lower levels first.
"""

from __future__ import annotations


def s_shape_key(aisle: int, bay: int, level: int) -> tuple[int, int, int]:
    """Sort key placing a location on the serpentine walk."""
    return (aisle, bay if aisle % 2 else -bay, level)
