"""The shared kernel every stage uses: the clock, the request bodies, places on the map."""
