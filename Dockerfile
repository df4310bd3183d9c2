# llmlog in a container: the proxy and the logs API on port 8080, the SQLite database on the /data volume.
#   docker build -t llmlog .
#   docker run -d -p 127.0.0.1:8080:8080 -v llmlog-data:/data -e LLMLOG_ADMIN_KEY=... llmlog
# It listens on 0.0.0.0 inside the container, so `llmlog serve` refuses to start without a logs API key
# (LLMLOG_ADMIN_KEY, or logs_api.api_keys). Other settings: LLMLOG_* variables (docs/settings.md), or a
# config file mounted into the container and named by LLMLOG_CONFIG. Nothing is fetched at run time: the
# token encodings and the price table ship inside the installed packages (pricing.refresh_hours is 0).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1

# built from the repository with pip, as a regular (not editable) install: site-packages gets `llmlog` alone
COPY pyproject.toml README.md cli.py /src/
COPY proxy /src/proxy
COPY store /src/store
COPY pricing /src/pricing
RUN pip install /src && rm -rf /src

# a dedicated user without a login or a writable home outside the volume
RUN useradd --uid 10001 --user-group --home-dir /data --no-create-home --shell /usr/sbin/nologin llmlog \
    && mkdir /data && chown llmlog:llmlog /data
USER llmlog
WORKDIR /data
# the database, its WAL and the spill file (beside the database) live here
VOLUME ["/data"]

ENV LLMLOG_HOST=0.0.0.0 LLMLOG_PORT=8080 LLMLOG_DB=/data/llmlog.db
EXPOSE 8080

# /healthz is answered locally (never forwarded or logged); Python's urllib, as the image has no curl
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('LLMLOG_PORT', '8080') + '/healthz', timeout=4)"]

# exec form: llmlog is PID 1 and gets docker stop's SIGTERM, so in-flight calls finish and the queue is flushed
CMD ["llmlog", "serve"]
