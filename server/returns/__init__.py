"""Returns: authorised (RMA), received at the dock by scan, graded back to stock or scrap."""
