from wasteflow.cli import app

app()
