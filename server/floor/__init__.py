"""The floor: planning pick lists and carts, handing them out, scans, short picks, packing, the dock."""
