# The image docker-compose.yml runs: the hub, its CLI and every channel.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml README.md ./
COPY hub ./hub
COPY channels ./channels
COPY crm_core ./crm_core
COPY knowledge ./knowledge
RUN pip install . && rm -rf build ./*.egg-info

RUN useradd --system --create-home --home-dir /var/lib/switchboard switchboard
USER switchboard
WORKDIR /var/lib/switchboard

ENV SWITCHBOARD_HOST=0.0.0.0 \
    SWITCHBOARD_DATA_DIR=/var/lib/switchboard
EXPOSE 8080
CMD ["switchboard", "serve"]
