"""The search engines behind `SearchBackend`: PostgreSQL (default) and OpenSearch (`OPENSEARCH_URL`)."""
