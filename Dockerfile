# paincoach: one image for the webhook workers, the scheduler and one-off commands
# (docker-compose.yml, docs/operations.md). Python as the constraints were made with.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# The pinned versions first, so the dependency layer is rebuilt only when they change.
COPY constraints.txt pyproject.toml README.md ./
COPY paincoach/ paincoach/
COPY bot/ bot/
COPY coach/ coach/
COPY dialogs/ dialogs/
COPY content/ content/
COPY scheduler/ scheduler/
COPY storage/ storage/
COPY clock/ clock/
COPY sandbox/ sandbox/
COPY research/ research/
# simplemma's dictionaries as tries, built here once (content check), read by every process after.
ENV XDG_CACHE_HOME=/var/cache/paincoach
RUN pip install -c constraints.txt . \
    && paincoach content check \
    && useradd --system --uid 10001 --home-dir /app coach

USER coach
# Logs as JSON lines, never what anyone wrote; the webhook server (and /healthz, /metrics) on 8080.
ENV LOG_FORMAT=json \
    WEBHOOK_LISTEN_HOST=0.0.0.0 \
    WEBHOOK_LISTEN_PORT=8080
EXPOSE 8080 9090

HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4)"]

CMD ["paincoach", "run"]
