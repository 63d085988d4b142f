"""The floor's pure rules: pick lists and steps, picking, packing, batching, walking routes, floor labels."""
