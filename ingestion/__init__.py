"""Ingestion: the order generator behind the Lambda handler and the local bulk loader."""
