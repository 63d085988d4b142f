"""The board's pure rules: what a supervisor reads, worked out without Flask, sockets or SQL."""
