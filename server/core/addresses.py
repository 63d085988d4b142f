"""Postal addresses as the domain passes them around: plain frozen values, no validation of IO."""

from __future__ import annotations

from dataclasses import dataclass


# kw_only: the field order puts optional line2 between required fields, and addresses built
# positionally are where street and city get swapped.
@dataclass(frozen=True, kw_only=True)
class Address:
    """Where a package comes from or goes to."""

    name: str
    line1: str
    line2: str = ""
    city: str
    postcode: str
    country: str
    phone: str = ""
