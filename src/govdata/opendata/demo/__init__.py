"""The demo city's open data (issue 14)."""
