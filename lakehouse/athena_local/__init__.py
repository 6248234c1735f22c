"""A local Athena stand-in: dbt-athena, unchanged, against moto's server (S3, Glue, Athena) with every statement
parsed as Athena SQL, checked against Athena's rules and executed on DuckDB. What it models and what it does not:
README.md beside this file.

Modules, in the order a statement meets them: `cursor` (dbt-athena's cursor routed to the engine), `engine`
(dispatch and DDL), `rules` (what Athena refuses), `translate` (Athena SQL as DuckDB SQL), `tables` (table data
read from and written to S3 on DuckDB), `dml` (INSERT, MERGE, UPDATE, DELETE, OPTIMIZE, VACUUM), `catalog` (Glue
and S3), `scan` and `prune` (the bytes a statement scans, and what its predicates let it skip), `outcome`
(results and errors); `standin` starts it all, `__main__` is `make athena-local`.
"""
