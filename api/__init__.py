"""The HTTP API (FastAPI): thin routes over wasteflow's services."""
