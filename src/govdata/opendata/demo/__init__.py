"""The open-data demo (Ch. 5): each part's steps, run by the demo city's loader."""
