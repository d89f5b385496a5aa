"""The cache as a Hive-partitioned Parquet dataset for Dask, Spark and DuckDB.

:func:`tradedata.parquet.export.export_parquet` writes it (also ``tradedata.export_parquet``,
``DataManager.export_parquet`` and ``tradedata export parquet DEST``);
:mod:`tradedata.parquet.layout` describes the layout, the partition-value encoding and the
columns; :mod:`tradedata.parquet.target` writes files atomically to any fsspec URL.
"""
