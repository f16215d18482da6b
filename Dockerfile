FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 SOCIALBOT_DB=/data/socialbot.db
RUN useradd --create-home --uid 10001 socialbot && mkdir /data && chown socialbot /data
WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY knowledge ./knowledge
COPY conversations ./conversations
RUN pip install --no-cache-dir . && socialbot kb check

# Numeric, so Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
USER 10001
VOLUME ["/data"]
ENTRYPOINT ["socialbot"]
