"""The 112 emergency line: incident cards of the unified dispatch service (feed name "112")."""
