# One image for the five services; docker-compose.yml picks the service with `command`.
FROM python:3.11-slim
WORKDIR /app
COPY requirements.lock .
RUN pip install --no-cache-dir -r requirements.lock
COPY services services
COPY gen gen
COPY migrations migrations
ENV PYTHONPATH=/app:/app/gen HEALTHMESH_LISTEN_HOST=0.0.0.0
USER nobody
