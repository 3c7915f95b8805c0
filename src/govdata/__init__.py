"""govdata: government data resources platform."""
