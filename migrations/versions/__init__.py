"""The revisions, one module each; Alembic finds them by file and skips this one."""
