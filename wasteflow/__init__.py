"""wasteflow: follow every kilogram from source to fate, and report the official rates."""

__version__ = "0.1.0"
