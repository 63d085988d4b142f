"""The sans-IO core: orders, inventory, allocation, routing, tasks, packing, labels."""
