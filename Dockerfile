FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 SOCIALBOT_DB=/data/socialbot.db SOCIALBOT_CACHE_DIR=/app/cache
RUN useradd --create-home --uid 10001 socialbot && mkdir /data && chown socialbot /data
WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY knowledge ./knowledge
COPY conversations ./conversations
# One answer at build time makes the dense model's snapshot (and the vectors of any text edited since
# `socialbot kb vectors`) in SOCIALBOT_CACHE_DIR, so that a new container's first reply is fast too.
RUN pip install --no-cache-dir . && socialbot kb check && mkdir -p /app/cache && socialbot ask hello >/dev/null \
    && chmod -R a+rX /app/cache

# Numeric, so Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
USER 10001
VOLUME ["/data"]
ENTRYPOINT ["socialbot"]
