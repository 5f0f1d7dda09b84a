"""The fictional demo co-op: people, cards, services, requests, queues and staff."""
