"""The floor each stage is compared with: the same work done as directly as possible in DuckDB SQL."""
