"""The demo floor: a seeded site, a real server, simulated devices and a virtual printer."""
