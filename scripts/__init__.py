"""Demo, simulators and benchmarks: they drive the server and devices from outside, so they may import both."""
