"""Open data demo stories (Ch. 5)."""
