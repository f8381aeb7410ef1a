# deskwatch: slim image, non-root user, SQLite database on the /data volume.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    DESKWATCH_CONFIG=/app/config/deskwatch.toml

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
RUN pip install --no-cache-dir .
COPY config ./config

# The database lives on a volume; point the config's storage.path at it.
RUN useradd --create-home --uid 10001 deskwatch \
 && mkdir -p /data && chown deskwatch /data \
 && sed -i 's#^path = "../data/deskwatch.db"#path = "/data/deskwatch.db"#; s#^path = "../data/briefing.md"#path = "/data/briefing.md"#' config/deskwatch.toml
VOLUME ["/data"]
USER deskwatch

# Secrets come from the environment at run time: DISCORD_TOKEN, SLACK_BOT_TOKEN, SLACK_APP_TOKEN …
CMD ["deskwatch", "run"]
