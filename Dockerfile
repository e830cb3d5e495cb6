# pipeline-queue: one image for every process (serve, worker, beat, watch, flower); the command picks the role.
#   docker build -t pipeline-queue:0.1.0 .
#   docker run --rm pipeline-queue:0.1.0 --help
# The build stage makes the wheel and a virtual environment from it; the final stage gets only that environment,
# git (serve reads each commit's pipeline file with it) and CA certificates: no compiler, no pip, no source tree.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY pipeline_queue/ pipeline_queue/
COPY workers/ workers/
# No extras: the development cluster (and its schema validator) stays out of a deployment.
RUN python -m pip wheel --no-deps --wheel-dir /dist . \
 && python -m venv /opt/pipeline-queue \
 && /opt/pipeline-queue/bin/python -m pip install /dist/pipeline_queue-*.whl \
 && /opt/pipeline-queue/bin/python -m pip uninstall --yes pip setuptools

FROM ${PYTHON_IMAGE} AS runtime
# Debian's package versions move with its security updates; pinning them would break the build at each one.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install --yes --no-install-recommends git ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 pq \
 && useradd --system --uid 10001 --gid pq --home-dir /var/lib/pipeline-queue --no-create-home \
        --shell /usr/sbin/nologin pq \
 && install -d -o pq -g pq -m 0700 /var/lib/pipeline-queue
COPY --from=build /opt/pipeline-queue /opt/pipeline-queue
ENV PATH=/opt/pipeline-queue/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOME=/var/lib/pipeline-queue \
    PQ_DATA_DIR=/var/lib/pipeline-queue \
    PQ_HTTP_HOST=0.0.0.0 \
    PQ_HTTP_PORT=8080
WORKDIR /var/lib/pipeline-queue
# Numeric, so that Kubernetes' runAsNonRoot can check it without reading /etc/passwd.
USER 10001:10001
EXPOSE 8080
# The default command is `serve`; compose and Kubernetes give the other roles their own checks.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PQ_HTTP_PORT', '8080'), timeout=4)"]
ENTRYPOINT ["pipeline-queue"]
CMD ["serve"]
