"""Safe City (АПК «Безопасный город»): sensor and video-analytics events."""
