"""The silver layer: the AWS Glue job that turns bronze order CSVs into the silver Parquet tables.

``glue_jobs/bronze_to_silver_orders.py`` is the entry script Glue runs; everything else in this package is
plain PySpark (no DynamicFrame) plus a tiny storage interface, so it runs the same on a laptop and in AWS."""
