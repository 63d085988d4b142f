"""Load for benchmarks and the fleet: seeded sites, a fleet of simulated handhelds, the bare echo."""
