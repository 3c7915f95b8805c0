"""Security (Ch. 6, Art. 39): monitoring signals over the access records, and warnings to the
city bureau's security page. Keys, risk assessments, plans, drills and incidents come next."""
