"""The supervisors' board: live counts, the exceptions queue, throughput, supervisor actions."""
