"""Every setting is an environment variable with a documented default (see README)."""
from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta

from strawberry.http.websocket_origin import normalize_allowed_origins

from resolvers import auth, passwords, sealing
from server.client_address import Network, parse_networks


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def _float(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


def _origins(name: str) -> tuple[str, ...]:
    """A comma-separated list of origins, in the form browsers send them in `Origin`
    (`https://App.example.com:443/` is `https://app.example.com`), so that CORS, which
    compares exactly, and the WebSocket check agree; "*" for any."""
    items = [item.strip() for item in os.environ.get(name, "").split(",") if item.strip()]
    try:
        return tuple(sorted(normalize_allowed_origins(items)))
    except ValueError as error:
        raise ValueError(f"{name}: {error}") from None


def _networks(name: str) -> tuple[Network, ...]:
    items = [item.strip() for item in os.environ.get(name, "").split(",") if item.strip()]
    try:
        return parse_networks(items)
    except ValueError as error:
        raise ValueError(f"{name}: {error}") from None


def _secret_keys(name: str) -> tuple[str, ...]:
    try:
        return sealing.parse_keys(os.environ.get(name, ""))
    except ValueError as error:
        raise ValueError(f"{name}: {error}") from None


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite://teaminbox.db"
    broadcast_url: str = "memory://"
    # Prefix of every Redis key and bus channel: deployments sharing a Redis stay apart.
    namespace: str = "teaminbox"
    typing_ttl_seconds: float = 6.0
    session_ttl_hours: int = 24 * 30
    # A session unused this long ends (sliding: every use moves it on); 0 turns it off.
    session_idle_hours: float = 24 * 7
    # Proxies whose X-Forwarded-For is believed for the client's address (server/client_address.py).
    trusted_proxies: tuple[Network, ...] = ()
    # Request limits (GraphQL documents and the webhook).
    max_body_bytes: int = 256 * 1024
    max_query_depth: int = 12
    max_aliases: int = 30
    max_tokens: int = 5000
    max_page_size: int = 100
    # WebSocket limits.
    max_subscriptions_per_connection: int = 20
    # Open WebSockets per member across every instance (several tabs and devices each);
    # the next is closed with 1013. 0: no limit (server/connection_limits.py).
    max_connections_per_member: int = 20
    connection_init_timeout_seconds: float = 5.0
    subscriber_queue_size: int = 256
    # Cost of new argon2 password hashes (argon2-cffi's defaults).
    password_hash_time_cost: int = 3
    password_hash_memory_kib: int = 65536
    password_hash_parallelism: int = 4
    # Freeze start-up objects and collect young garbage less often (server/gc_tuning.py).
    gc_tuning: bool = True
    # How long the durable event log keeps events for resuming subscriptions.
    event_retention_hours: float = 72.0
    # Answer the compiled documents (schema/compiled) without graphql-core; 0 sends every
    # HTTP request through the general GraphQL path.
    compiled_documents: bool = True
    # Browser origins allowed to call the API from another origin (CORS on HTTP, the
    # Origin check on WebSockets); empty: same origin only. "*" allows any.
    allowed_origins: tuple[str, ...] = ()
    # Automatic persisted queries: how many documents the shared store keeps (the least
    # recently used go first).
    persisted_query_max_documents: int = 10_000
    # Accept only trusted documents (graphql/persisted-documents.json) from AGENT and
    # ADMIN tokens and anonymous requests; analysts keep ad-hoc queries.
    trusted_documents_only: bool = False

    # Where providers reach this deployment (callback URLs, and the URL Twilio signs); empty:
    # http://HOST:PORT of `teaminbox serve`.
    public_url: str = ""
    # Keys that seal providers' credentials at rest (resolvers/sealing.py); the first seals.
    secret_keys: tuple[str, ...] = ()
    # Send replies from this instance (server/delivery_worker.py); 0 for an instance that only serves.
    delivery_worker: bool = True

    def base_url(self, host: str = "127.0.0.1", port: int = 8000) -> str:
        return self.public_url.rstrip("/") or f"http://{host}:{port}"

    def apply_sealing(self) -> None:
        sealing.configure(self.secret_keys)

    def apply_session_policy(self) -> None:
        idle = timedelta(hours=self.session_idle_hours) if self.session_idle_hours > 0 else None
        auth.configure_sessions(idle_timeout=idle)

    def apply_password_hashing(self) -> None:
        passwords.configure(
            time_cost=self.password_hash_time_cost, memory_kib=self.password_hash_memory_kib,
            parallelism=self.password_hash_parallelism,
        )

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            database_url=os.environ.get("TEAMINBOX_DATABASE_URL", cls.database_url),
            broadcast_url=os.environ.get("TEAMINBOX_BROADCAST_URL", cls.broadcast_url),
            namespace=os.environ.get("TEAMINBOX_NAMESPACE", cls.namespace),
            typing_ttl_seconds=_float("TEAMINBOX_TYPING_TTL_SECONDS", cls.typing_ttl_seconds),
            session_ttl_hours=_int("TEAMINBOX_SESSION_TTL_HOURS", cls.session_ttl_hours),
            session_idle_hours=_float("TEAMINBOX_SESSION_IDLE_HOURS", cls.session_idle_hours),
            trusted_proxies=_networks("TEAMINBOX_TRUSTED_PROXIES"),
            public_url=os.environ.get("TEAMINBOX_PUBLIC_URL", cls.public_url),
            secret_keys=_secret_keys("TEAMINBOX_SECRET_KEY"),
            delivery_worker=os.environ.get("TEAMINBOX_DELIVERY_WORKER", "1") != "0",
            max_body_bytes=_int("TEAMINBOX_MAX_BODY_BYTES", cls.max_body_bytes),
            max_query_depth=_int("TEAMINBOX_MAX_QUERY_DEPTH", cls.max_query_depth),
            max_aliases=_int("TEAMINBOX_MAX_ALIASES", cls.max_aliases),
            max_tokens=_int("TEAMINBOX_MAX_TOKENS", cls.max_tokens),
            max_page_size=_int("TEAMINBOX_MAX_PAGE_SIZE", cls.max_page_size),
            max_subscriptions_per_connection=_int(
                "TEAMINBOX_MAX_SUBSCRIPTIONS_PER_CONNECTION", cls.max_subscriptions_per_connection
            ),
            max_connections_per_member=_int(
                "TEAMINBOX_MAX_CONNECTIONS_PER_MEMBER", cls.max_connections_per_member
            ),
            connection_init_timeout_seconds=_float(
                "TEAMINBOX_CONNECTION_INIT_TIMEOUT_SECONDS", cls.connection_init_timeout_seconds
            ),
            subscriber_queue_size=_int("TEAMINBOX_SUBSCRIBER_QUEUE_SIZE", cls.subscriber_queue_size),
            password_hash_time_cost=_int("TEAMINBOX_PASSWORD_HASH_TIME_COST", cls.password_hash_time_cost),
            password_hash_memory_kib=_int("TEAMINBOX_PASSWORD_HASH_MEMORY_KIB", cls.password_hash_memory_kib),
            password_hash_parallelism=_int("TEAMINBOX_PASSWORD_HASH_PARALLELISM", cls.password_hash_parallelism),
            gc_tuning=os.environ.get("TEAMINBOX_GC_TUNING", "1") != "0",
            event_retention_hours=_float("TEAMINBOX_EVENT_RETENTION_HOURS", cls.event_retention_hours),
            compiled_documents=os.environ.get("TEAMINBOX_COMPILED_DOCUMENTS", "1") != "0",
            allowed_origins=_origins("TEAMINBOX_ALLOWED_ORIGINS"),
            persisted_query_max_documents=_int(
                "TEAMINBOX_PERSISTED_QUERY_MAX_DOCUMENTS", cls.persisted_query_max_documents
            ),
            trusted_documents_only=os.environ.get("TEAMINBOX_TRUSTED_DOCUMENTS_ONLY", "0") == "1",
        )
