"""Use cases, one module per area. Each is a function with keyword-only arguments that
commits once through :func:`wasteflow.db.unit_of_work`; API routes, the CLI and the demo
loader all call these."""
