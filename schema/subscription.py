"""The root Subscription (filled in by the realtime work)."""
import strawberry


@strawberry.type(description="Live updates over graphql-transport-ws.")
class Subscription:
    @strawberry.subscription(description="Placeholder.")
    async def ping(self) -> int:  # pragma: no cover - replaced by realtime subscriptions
        yield 1
