# syntax=docker/dockerfile:1
#
# The one Tessera image. Every service runs it with a different command:
#   tessera migrate | tessera server | tessera codeloc -m MODULE | tessera health
# Build:  docker build -t tessera:latest .
# A team's own code location builds FROM this image: see docs/deployment.md.

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    TESSERA_HOME=/var/lib/tessera/home

# The dependencies first, read from pyproject.toml, so that a change to the source rebuilds
# only the small layer below instead of downloading every dependency again. The celery extra
# too: the same image runs the Celery workers of a location that uses that executor.
RUN --mount=type=bind,source=pyproject.toml,target=/tmp/pyproject.toml \
    python -c "import tomllib; p = tomllib.load(open('/tmp/pyproject.toml', 'rb'))['project']; print('\n'.join(p['dependencies'] + p['optional-dependencies']['celery']))" \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# The project itself, the Alembic migrations included (they ship as package data). The bind
# mount is writable only for the build's own scratch files; none of the source stays in the
# image.
RUN --mount=type=bind,target=/tmp/tessera,rw \
    pip install --no-deps /tmp/tessera \
    && python -c "from server.storage.migrate import head_revision; print('schema head', head_revision())"

# A non-root user owns only the directories a container writes to. Named volumes mounted
# there start with this ownership, so shared storage stays writable by every location.
RUN useradd --system --uid 10001 --user-group --home-dir /var/lib/tessera --no-create-home tessera \
    && mkdir -p /var/lib/tessera/home /var/lib/tessera/storage /var/lib/tessera/data \
    && chown -R tessera:tessera /var/lib/tessera

# The examples, so that docker-compose.yml runs the cross-location example out of the box:
# `tessera codeloc -m examples.cross_location.code_location_1` imports from the working
# directory. A team's own image installs its package instead.
WORKDIR /opt/tessera
COPY examples/ examples/

USER tessera
EXPOSE 3000 4000
ENTRYPOINT ["tessera"]
CMD ["--help"]
