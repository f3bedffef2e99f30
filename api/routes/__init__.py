"""Routers, one per resource; mounted in one place, ``api.main``."""
