"""Housing inspection (АИС ГЖИ): complaints against management companies."""
