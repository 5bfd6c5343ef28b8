"""MCP and SCAD values (their prox is the piecewise search in :mod:`.penalties`)."""

from .base import _JIT, njit


@njit(**_JIT)
def mcp_value(lam, gamma, ax):
    """MCP (Zhang 2010) at ``|x| = ax``: ``lam·ax − ax²/(2γ)`` if ``ax ≤ γ·lam``, else ``γ·lam²/2``."""
    if ax <= gamma * lam:
        return lam * ax - ax * ax / (2.0 * gamma)
    return 0.5 * gamma * lam * lam


@njit(**_JIT)
def scad_value(lam, a, ax):
    """SCAD (Fan & Li 2001) at ``|x| = ax``: ``lam·ax`` up to ``lam``, then
    ``(2a·lam·ax − ax² − lam²) / (2(a − 1))`` up to ``a·lam``, then ``lam²(a + 1)/2``."""
    if ax <= lam:
        return lam * ax
    if ax <= a * lam:
        return (2.0 * a * lam * ax - ax * ax - lam * lam) / (2.0 * (a - 1.0))
    return 0.5 * lam * lam * (a + 1.0)
