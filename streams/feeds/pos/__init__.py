"""Gosuslugi POS (платформа обратной связи): appeals filed on the federal portal and its widgets."""
