"""dbt-tests-adapter's base suites against the Athena stand-in (a package: its stand-in lives and dies with it)."""
