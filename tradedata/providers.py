"""The provider instances one manager uses, and the rules that pick among them.

Each provider is created from the config (:func:`tradedata.config.provider_settings`) the first
time it is asked for and kept for the manager's life; one added by hand (any
:class:`~tradedata.adapters.base.Provider`) is used under its name. The selector
(:class:`~tradedata.selection.ProviderSelector`) is built from the config's rules on first use.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from tradedata.config import Config, provider_settings

if TYPE_CHECKING:
    from tradedata.adapters.base import Provider
    from tradedata.selection import ProviderSelector

__all__ = ["ProviderPool"]


class ProviderPool:
    """Provider instances by name, one each, safe to share between threads."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self._providers: dict[str, Provider] = {}
        self._lock = threading.RLock()
        self._selector: ProviderSelector | None = None

    @property
    def selector(self) -> ProviderSelector:
        """The :class:`~tradedata.selection.ProviderSelector` built from the config's rules."""
        if self._selector is None:
            from tradedata.selection import ProviderSelector

            self._selector = ProviderSelector(self.config.rules, self.config)
        return self._selector

    def get(self, name: str) -> Provider:
        """The provider instance for ``name`` (created on first use)."""
        with self._lock:
            prov = self._providers.get(name)
            if prov is None:
                from tradedata.adapters import create_provider

                prov = create_provider(name, provider_settings(name, self.config))
                self._providers[name] = prov
            return prov

    def add(self, provider: Provider, name: str | None = None) -> None:
        """Use ``provider`` under ``name`` (default: its own name)."""
        with self._lock:
            self._providers[name or provider.name] = provider

    def close(self) -> None:
        """Close every provider's connections and forget the instances."""
        with self._lock:
            for prov in self._providers.values():
                prov.close()
            self._providers.clear()
