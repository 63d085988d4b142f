"""Use cases: each opens a transaction, calls the domain, stores the result."""
