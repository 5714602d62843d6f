"""Web entry point: FastAPI pages and the /api/v1 JSON API."""
