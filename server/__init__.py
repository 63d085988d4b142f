"""The scanfloor server: domain logic, storage, REST API, Socket.IO namespaces, the board."""
