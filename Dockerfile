# The production image: api, scheduler and worker all run this image with different commands.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 NEWSRELAY_DATA_DIR=/data
WORKDIR /app
# Pillow's wheel bundles raqm and HarfBuzz but loads FriBiDi from the system: without it,
# headline cards in Urdu, Arabic and Indic scripts are drawn unshaped.
RUN apt-get update && apt-get install -y --no-install-recommends libfribidi0 \
    && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml README.md ./
COPY config ./config
COPY scheduler ./scheduler
COPY workers ./workers
COPY adapters ./adapters
RUN pip install --no-cache-dir . && useradd --system --home /app newsrelay \
    && mkdir -p /data && chown newsrelay /data
USER newsrelay
EXPOSE 8000
CMD ["newsrelay", "api", "--host", "0.0.0.0", "--port", "8000"]
