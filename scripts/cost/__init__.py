"""Cost probes: CPU and statements per scan, per connect, per open board, per search, measured
side by side between two versions of the code (each prints figures; see docs/benchmarks.md)."""
