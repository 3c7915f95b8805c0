"""Open data (Ch. 5, Art. 29–37): the city's one open-data system for citizens, companies,
researchers and developers.

- ``datasets``: the open catalog as the portal reads it, refreshed from the published catalog
  (Art. 30, 32); ``search``: finding datasets, with facets.
- ``store``: a release's rows in a table of their own; ``access``: every read of released data
  leaves an access record, as sharing's do (Art. 40).
- releases and desensitization, identity authentication, conditional-open applications,
  correction requests, feedback and reuses, the CKAN-compatible API and DCAT build on these.
"""
