"""Shared core of the ЦУР data platform: settings, canonical appeal schema, taxonomy, SLA rules."""
