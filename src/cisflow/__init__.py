"""cisflow: reads to trained, evaluated and interpreted sequence models of regulatory DNA."""

__version__ = "0.1.0"
