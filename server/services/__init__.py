"""What the REST API does, below its routes: one function per operation.

A route parses the request, calls one function here and returns what it gives back, a
response schema of ``server.schemas``. The functions take what they work on as
arguments (a session, the registry, the coordinator), so a test calls them without a
server; they raise the domain errors of ``server.errors``, which the API turns into
problems in one place. The database is reached only through ``server.storage``.
"""
