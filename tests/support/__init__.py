"""Helpers the tests share: generated homes and events, oracles, HTTP receivers, crash harnesses."""
