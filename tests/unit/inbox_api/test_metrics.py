"""Request metrics are labelled by route template, and streamed responses pass through."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
from fastapi import APIRouter, FastAPI
from fastapi.responses import StreamingResponse
from prometheus_client import REGISTRY

from services.inbox_api.metrics import MetricsMiddleware


def _count(route: str, status: str, method: str = "GET") -> float:
    value = REGISTRY.get_sample_value(
        "inbox_api_requests_total", {"method": method, "route": route, "status": status})
    return value or 0.0


def _app() -> FastAPI:
    app = FastAPI()

    @app.get("/things/{thing_id}")
    async def thing(thing_id: str) -> dict[str, str]:
        if thing_id == "missing":
            from fastapi import HTTPException

            raise HTTPException(404)
        return {"id": thing_id}

    @app.get("/stream")
    async def stream() -> StreamingResponse:
        async def chunks() -> AsyncIterator[bytes]:
            yield b"data: one\n\n"
            yield b"data: two\n\n"

        return StreamingResponse(chunks(), media_type="text/event-stream")

    # As main.py includes every feature's router: under a prefix.
    feature = APIRouter()

    @feature.get("/widgets/{widget_id}/parts/{part}")
    async def part(widget_id: str, part: str) -> dict[str, str]:
        return {"id": widget_id, "part": part}

    app.include_router(feature, prefix="/api/v1")
    app.add_middleware(MetricsMiddleware, router_owner=app)
    return app


async def test_requests_are_counted_by_route_template_not_raw_path():
    before_ok = _count("/things/{thing_id}", "200")
    before_missing = _count("/things/{thing_id}", "404")
    transport = httpx.ASGITransport(app=_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        assert (await client.get("/things/a")).status_code == 200
        assert (await client.get("/things/b")).status_code == 200
        assert (await client.get("/things/missing")).status_code == 404
    assert _count("/things/{thing_id}", "200") == before_ok + 2
    assert _count("/things/{thing_id}", "404") == before_missing + 1
    assert REGISTRY.get_sample_value(
        "inbox_api_requests_total", {"method": "GET", "route": "/things/a", "status": "200"}
    ) is None


async def test_unrouted_paths_share_one_label_and_streams_pass_through():
    before = _count("static", "404")
    transport = httpx.ASGITransport(app=_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        assert (await client.get("/no/such/path")).status_code == 404
        response = await client.get("/stream")
    assert _count("static", "404") == before + 1
    assert response.text == "data: one\n\ndata: two\n\n"
    assert _count("/stream", "200") >= 1


async def test_a_route_of_an_included_router_is_counted_with_its_prefix():
    template = "/api/v1/widgets/{widget_id}/parts/{part}"
    before = _count(template, "200")
    before_static = _count("static", "200")
    transport = httpx.ASGITransport(app=_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        assert (await client.get("/api/v1/widgets/w1/parts/p1")).status_code == 200
        assert (await client.get("/api/v1/widgets/w2/parts/p2")).status_code == 200
    assert _count(template, "200") == before + 2
    assert _count("static", "200") == before_static
