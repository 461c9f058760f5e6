# One image for every service; the command picks which (python -m services.<name>).
FROM python:3.12-slim AS build
WORKDIR /app
COPY pyproject.toml README.md ./
COPY shared ./shared
COPY services ./services
RUN pip install --no-cache-dir --prefix=/install .

FROM python:3.12-slim
RUN useradd --uid 10001 --create-home inbox
COPY --from=build /install /usr/local
WORKDIR /app
COPY shared ./shared
COPY services ./services
USER 10001
ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
# e.g. docker run IMAGE python -m services.webhook_ingest
CMD ["python", "-m", "services.inbox_api"]
