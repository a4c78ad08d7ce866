"""Analytics on ClickHouse (chDB locally), fed from the outbox (docs/analytics.md)."""
