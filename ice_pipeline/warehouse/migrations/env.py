"""Alembic environment: runs migrations on the connection that ``migrate.upgrade`` hands over.

There is no alembic.ini; ``ice_pipeline.warehouse.migrate`` builds the Config and passes an open
connection in ``config.attributes["connection"]``. The version table lives in ``ice_ops`` so the
analyst schema ``ice`` holds nothing but aggregates and views.
"""

from alembic import context

from ice_pipeline.warehouse.migrate import VERSION_TABLE_SCHEMA, register_duckdb_impl
from ice_pipeline.warehouse.schema import metadata

register_duckdb_impl()

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "run migrations through `ice-pipeline warehouse upgrade` "
        "(ice_pipeline.warehouse.migrate.upgrade), which supplies the connection"
    )

context.configure(
    connection=connection,
    target_metadata=metadata,
    version_table_schema=VERSION_TABLE_SCHEMA,
    transaction_per_migration=False,
)
with context.begin_transaction():
    context.run_migrations()
