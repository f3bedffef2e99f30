from mobile_stub.cli import app

app()
