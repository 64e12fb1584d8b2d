# syntax=docker/dockerfile:1
#
# The one Tessera image. Every service runs it with a different command:
#   tessera migrate | tessera server | tessera codeloc -m MODULE | tessera health
# Build:  docker build -t tessera:latest .
#
# A lighter image for code locations only, without the server's libraries (FastAPI,
# SQLAlchemy, Alembic, psycopg, uvicorn): it runs `tessera codeloc`, `tessera materialize`,
# `tessera celery-worker` and `tessera health`, not the server.
#   docker build --target codeloc -t tessera-codeloc:latest .
# A team's own code location builds FROM either: see docs/deployment.md.
#
# Both install the pinned, hash-checked dependencies of requirements/ (made by `make lock`)
# first, so that a change to the source rebuilds only the small layer of the project itself.

FROM python:3.11-slim AS runtime

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    TESSERA_HOME=/var/lib/tessera/home

# A non-root user owns only the directories a container writes to. Named volumes mounted
# there start with this ownership, so shared storage stays writable by every location.
RUN useradd --system --uid 10001 --user-group --home-dir /var/lib/tessera --no-create-home tessera \
    && mkdir -p /var/lib/tessera/home /var/lib/tessera/storage /var/lib/tessera/data \
    && chown -R tessera:tessera /var/lib/tessera


# -- a code location only: the base install and the celery extra -------------------------------
FROM runtime AS codeloc

RUN --mount=type=bind,source=requirements/codeloc.txt,target=/tmp/requirements.txt \
    pip install --require-hashes -r /tmp/requirements.txt

# The project itself, without its dependencies (they are the lock's). The bind mount is
# writable only for the build's own scratch files; none of the source stays in the image.
RUN --mount=type=bind,target=/tmp/tessera,rw \
    pip install --no-deps /tmp/tessera

# The examples, so that docker-compose.yml runs the cross-location example out of the box:
# `tessera codeloc -m examples.cross_location.code_location_1` imports from the working
# directory. A team's own image installs its package instead.
WORKDIR /opt/tessera
COPY examples/ examples/

USER tessera
EXPOSE 4000
ENTRYPOINT ["tessera"]
CMD ["--help"]


# -- everything: the server and celery extras (the default target) -----------------------------
FROM runtime AS server

RUN --mount=type=bind,source=requirements/server.txt,target=/tmp/requirements.txt \
    pip install --require-hashes -r /tmp/requirements.txt

# The project, the Alembic migrations included (they ship as package data).
RUN --mount=type=bind,target=/tmp/tessera,rw \
    pip install --no-deps /tmp/tessera \
    && python -c "from server.storage.migrate import head_revision; print('schema head', head_revision())"

WORKDIR /opt/tessera
COPY examples/ examples/

USER tessera
EXPOSE 3000 4000
ENTRYPOINT ["tessera"]
CMD ["--help"]
