"""bench.delivery: replies from sendMessage to a provider emulator, and to SENT (issue 12)."""
