"""Local driver for the lakehouse: configuration, the `lakehouse` CLI and helpers that run the AWS code on a laptop."""

__version__ = "0.1.0"
