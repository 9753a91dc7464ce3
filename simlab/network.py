"""The network graph and the domain registry / DNS.

Clients reach a server's address over a ``networkx`` graph of access networks, an
exchange and hosting sites. An attacker occupies a node or an edge and is on-path for
exactly the clients whose route to the address DNS returns passes through it. The
registry is the DV oracle CAs ask: whoever controls a domain there (the owner, or a
hijacker after a registrar takeover) passes domain validation.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import networkx as nx

from simlab.clock import SimTime

__all__ = ["Network", "Registry"]


@dataclass
class Registry:
    """Who controls each registered domain, and where DNS points it."""

    controller: dict[str, str] = field(default_factory=dict)
    address: dict[str, str] = field(default_factory=dict)
    web_operator: dict[str, str] = field(default_factory=dict)
    """Who runs the web server at an address: it can answer an HTTP-01 challenge."""

    def register(self, domain: str, controller: str, address: str) -> None:
        self.controller[domain] = controller
        self.address[domain] = address
        self.web_operator.setdefault(address, controller)

    def _registered(self, name: str) -> str | None:
        labels = name.split(".")
        for i in range(len(labels) - 1):
            candidate = ".".join(labels[i:])
            if candidate in self.controller:
                return candidate
        return None

    def controls(self, requester: str, name: str, at: SimTime) -> bool:
        """The DV oracle (``simlab.pki.DomainControl``): the registrant, or whoever runs the
        web server the name resolves to (an HTTP-01 challenge is answered there)."""
        domain = self._registered(name)
        if domain is None:
            return False
        return requester in (self.controller[domain], self.web_operator.get(self.address[domain]))

    def resolve(self, name: str) -> str | None:
        domain = self._registered(name)
        return None if domain is None else self.address[domain]


class Network:
    """Access networks -> exchange -> hosting. Routes are cached per (access node, address)."""

    def __init__(self, access_networks: list[str], hosts: list[str]) -> None:
        self.graph: nx.Graph = nx.Graph()
        self.graph.add_node("ix", role="exchange")
        for name in access_networks:
            self.graph.add_node(name, role="access")
            self.graph.add_edge(name, "ix")
        for host in hosts:
            self.graph.add_node(host, role="host")
            self.graph.add_edge("ix", host)
        self._routes: dict[tuple[str, str], tuple[str, ...]] = {}

    def route(self, source: str, address: str) -> tuple[str, ...]:
        key = (source, address)
        path = self._routes.get(key)
        if path is None:
            path = self._routes[key] = tuple(nx.shortest_path(self.graph, source, address))
        return path

    def on_path(self, position: str | tuple[str, str], source: str, address: str) -> bool:
        """Whether an attacker at ``position`` (a node or an edge) sits on the route."""
        path = self.route(source, address)
        if isinstance(position, str):
            return position in path[:-1] or position == source
        a, b = position
        return any({path[i], path[i + 1]} == {a, b} for i in range(len(path) - 1))
