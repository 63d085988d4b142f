"""The pure rules of returns: what may be returned, how each unit is graded."""
