"""Soak (`python -m bench.soak`): two instances, many subscribers, a Redis restart, and an
exactly-once check of every client's stream against the durable event log."""
