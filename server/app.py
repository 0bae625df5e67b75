"""The composition root: Starlette app, lifespan (database, bus, typing presence), routes."""
from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route, WebSocketRoute
from tortoise.contrib.starlette import RegisterTortoise

from models.db import tortoise_config
from resolvers import login_throttle
from schema.app import build_schema
from server import graphiql
from server.compiled_route import CompiledOperations
from server.connection_limits import create_connection_slots
from server.cross_origin import cross_origin_middleware
from server.database import serving_url
from server.delivery_worker import DeliveryWorker
from server.gc_tuning import tune_after_startup
from server.graphql_view import TeamInboxGraphQL
from server.health import DATABASE_UNAVAILABLE, ServiceUnavailable, healthz, readyz, unavailable
from server.limits import BodySizeLimit
from server.login_attempts import create_attempt_store
from server.maintenance import event_log_pruning
from server.persisted import PersistedDocuments
from server.provider_webhooks import provider_callbacks
from server.settings import Settings
from server.webhook import inbound_webhook
from subscriptions import runtime
from subscriptions.bus import EventBus
from subscriptions.events import STORED_KINDS
from subscriptions.feed import FeedRegistry
from subscriptions.typing_presence import create_typing_presence
from subscriptions.typing_service import announce_expiry


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or Settings.from_env()
    settings.apply_password_hashing()
    settings.apply_session_policy()
    settings.apply_sealing()
    public_url = settings.base_url()
    provider_status, provider_inbound = provider_callbacks(public_url)
    schema = build_schema(
        max_depth=settings.max_query_depth, max_aliases=settings.max_aliases, max_tokens=settings.max_tokens
    )
    persisted = PersistedDocuments(settings)
    graphql = TeamInboxGraphQL(schema, settings, persisted)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        bus = EventBus(
            settings.broadcast_url, queue_size=settings.subscriber_queue_size, channel_prefix=f"{settings.namespace}:"
        )
        presence = create_typing_presence(
            settings.broadcast_url, ttl=settings.typing_ttl_seconds, on_expired=announce_expiry,
            key_prefix=f"{settings.namespace}:typing",
        )
        # Read by server/ws_handler.py at connection_init: open sockets per member.
        connection_slots = create_connection_slots(
            settings.broadcast_url, limit=settings.max_connections_per_member,
            key_prefix=f"{settings.namespace}:connections",
        )
        async with RegisterTortoise(app, config=tortoise_config(serving_url(settings.database_url))):
            await bus.connect()
            await presence.start()
            await persisted.start()
            attempts = create_attempt_store(settings.broadcast_url, f"{settings.namespace}:login:")
            login_throttle.install(attempts)
            await connection_slots.start()
            app.state.connection_slots = connection_slots
            feeds = FeedRegistry(bus, STORED_KINDS, settings.subscriber_queue_size)
            realtime = runtime.Realtime(bus=bus, presence=presence, feeds=feeds)
            runtime.install(realtime)
            app.state.realtime = realtime
            # Started once events can be published, stopped before they no longer can.
            worker = DeliveryWorker(public_url) if settings.delivery_worker else None
            if worker is not None:
                await worker.start()
            if settings.gc_tuning:
                tune_after_startup()
            try:
                async with event_log_pruning(settings.event_retention_hours):
                    yield
            finally:
                if worker is not None:
                    await worker.stop()
                runtime.install(None)
                await connection_slots.stop()
                await feeds.close()
                await persisted.stop()
                await attempts.close()
                await presence.stop()
                await bus.disconnect()

    # The compiled documents answer in front of the general app; off, every request takes
    # the general path (what the tests run both ways).
    http_graphql = CompiledOperations(graphql, graphql.limits) if settings.compiled_documents else graphql
    app = Starlette(
        routes=[
            *graphiql.routes(),
            Route("/graphql", http_graphql),  # every method: the view says 405 (with Allow) itself
            WebSocketRoute("/graphql", graphql),
            Route("/webhooks/inbound/{account_id}", inbound_webhook, methods=["POST"]),
            Route("/webhooks/{provider}/{account_id}/status", provider_status, methods=["POST"]),
            Route("/webhooks/{provider}/{account_id}/inbound", provider_inbound, methods=["POST"]),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
        ],
        middleware=[
            # Outermost, so refusals (413, 503) carry the CORS headers a browser needs to read them.
            cross_origin_middleware(settings.allowed_origins),
            Middleware(BodySizeLimit, max_bytes=settings.max_body_bytes),
        ],
        exception_handlers={error: unavailable for error in (*DATABASE_UNAVAILABLE, ServiceUnavailable)},
        lifespan=lifespan,
    )
    app.state.settings = settings
    return app
