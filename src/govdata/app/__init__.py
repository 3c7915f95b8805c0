"""The shell: the app factory, navigation, the home page and the shared pages; the only package
that knows every domain (``govdata.app.domains``)."""

from __future__ import annotations

from govdata.app.factory import create_app, create_served_app, ready_to_serve

__all__ = ["create_app", "create_served_app", "ready_to_serve"]
