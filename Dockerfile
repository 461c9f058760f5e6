# One image for every entry; the command picks which:
#   python -m services.webhook_ingest | services.inbox_api | services.conversation_store
#   | services.outbound_sender, python -m sandbox (the Cloud API stand-in),
#   python -m devstack.demo (seeds the demo tenant), python -m devstack.topics (creates topics).
# The same Python as the project (pyproject.toml: 3.11), an exact tag; pin a digest as well
# (python:3.11.14-slim-bookworm@sha256:...) where your registry mirror allows.
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
# Exactly the versions in the lock (docs/deploy.md: how to refresh it from pyproject.toml).
COPY deploy/image/requirements.lock /tmp/requirements.lock
RUN /opt/venv/bin/pip install --no-deps -r /tmp/requirements.lock \
 && /opt/venv/bin/pip check

FROM ${PYTHON_IMAGE}
RUN groupadd --gid 10001 inbox \
 && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /app --shell /usr/sbin/nologin inbox
COPY --from=build /opt/venv /opt/venv
COPY deploy/image/healthcheck.py /usr/local/bin/inbox-healthcheck
WORKDIR /app
# Sources, not an installed wheel: the web inbox's static files sit beside its code.
COPY shared ./shared
COPY services ./services
COPY sandbox ./sandbox
# Only the parts of devstack the image runs (the demo seeder and the topics job); the local
# Kafka and FerretDB launchers stay out.
COPY devstack/__init__.py devstack/demo.py devstack/topics.py ./devstack/
# Bytecode made now, as root: the containers' root filesystem is read-only.
RUN python -m compileall -q shared services sandbox devstack
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 PYTHONPATH=/app
USER 10001:10001
# GET /healthz on the entry's own port (deploy/image/healthcheck.py); one-shot jobs disable it.
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
  CMD ["python", "/usr/local/bin/inbox-healthcheck"]
CMD ["python", "-m", "services.inbox_api"]
