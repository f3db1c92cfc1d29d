"""The compiled matching index: which routes can possibly match a path.

Pure data structure, no I/O. The router asks :meth:`RouteIndex.candidates` for the
positions (in declaration order) of the routes that may match a path, then asks only
those routes, in that order, exactly as an ordered scan would. The index only has to
return a superset of the routes that match; it is built so that superset is tiny:

- a template without parameters is an exact key (``/users/me``);
- a template whose parameters each stay inside one segment is a path through a
  segment tree whose edges are literal segments or "any one segment";
- a template with a parameter that spans segments (``{p:path}``, a Mount's rest) is
  filed as a *tail* at the node for the segments before it: it is a candidate for
  every path that reaches that node;
- a route the index cannot reason about (a Host, a custom route class) is a
  *barrier*: a candidate for every path.

The candidate list of each exact key is precomputed, so a static path costs one dict
lookup, whatever the number of routes.
"""

from __future__ import annotations

from collections.abc import Iterable

from asgi_routing._compile import IndexKey

__all__ = ["RouteIndex"]


class _Node:
    __slots__ = ("branchy", "ends", "literal", "result", "tails", "wild")

    def __init__(self) -> None:
        self.literal: dict[str, _Node] = {}
        self.wild: _Node | None = None
        self.ends: list[int] = []
        self.tails: list[int] = []
        # Filled by _finish: whether a walk may need to look at more than one path
        # through here, and the candidates of a path that ends here (barriers included).
        self.branchy = False
        self.result: tuple[int, ...] = ()

    def child(self, segment: str | None) -> _Node:
        if segment is None:
            if self.wild is None:
                self.wild = _Node()
            return self.wild
        node = self.literal.get(segment)
        if node is None:
            node = self.literal[segment] = _Node()
        return node

    def finish(self, barriers: tuple[int, ...]) -> None:
        self.branchy = bool(self.tails) or (bool(self.literal) and self.wild is not None)
        self.result = tuple(sorted(self.ends + list(barriers)))
        for child in self.literal.values():
            child.finish(barriers)
        if self.wild is not None:
            self.wild.finish(barriers)


class RouteIndex:
    """Candidate routes for a path.

    ``entries`` are ``(position, key)`` pairs in declaration order: the route's
    :data:`IndexKey`, or ``None`` for a barrier. Routes left out never match.
    """

    __slots__ = ("_barriers", "_root", "exact")

    def __init__(self, entries: Iterable[tuple[int, IndexKey | None]]) -> None:
        self._root = root = _Node()
        barriers: list[int] = []
        static_paths: list[str] = []
        for position, key in entries:
            if key is None:
                barriers.append(position)
                continue
            segments, tail = key
            node = root
            for segment in segments:
                node = node.child(segment)
            if tail:
                node.tails.append(position)
                continue
            node.ends.append(position)
            literals = [segment for segment in segments if segment is not None]
            if len(literals) == len(segments):
                static_paths.append("/" + "/".join(literals))
        self._barriers = tuple(barriers)
        root.finish(self._barriers)
        # The candidates of each path a template without parameters matches: one
        # lookup answers candidates() for those (the router looks here first).
        self.exact: dict[str, tuple[int, ...]] = {
            path: self._walk(path.split("/")) for path in static_paths
        }

    def _walk(self, segments: list[str]) -> tuple[int, ...]:
        """Every candidate along every way through the tree (``segments[0]`` is "")."""
        last = len(segments)
        found: list[int] = []
        pending: list[tuple[_Node, int]] = []
        node, depth = self._root, 1
        while True:
            found.extend(node.tails)
            if depth == last:
                found.extend(node.ends)
            else:
                literal = node.literal.get(segments[depth])
                wild = node.wild
                if literal is not None:
                    if wild is not None:
                        pending.append((wild, depth + 1))
                    node, depth = literal, depth + 1
                    continue
                if wild is not None:
                    node, depth = wild, depth + 1
                    continue
            if not pending:
                break
            node, depth = pending.pop()
        found.extend(self._barriers)
        found.sort()
        return tuple(found)

    def candidates(self, path: str) -> tuple[int, ...]:
        """Positions of the routes that may match ``path``, in declaration order."""
        exact = self.exact.get(path)
        if exact is not None:
            return exact
        return self.split(path)[0]

    def split(self, path: str) -> tuple[tuple[int, ...], list[str] | None]:
        """:meth:`candidates` of a path not in :attr:`exact`, with ``path.split("/")``.

        The segments are ``None`` for a path not starting with ``/`` (only barriers
        are candidates). Otherwise every candidate filed with a key without a tail
        is there because the path has its number of segments and its literal segments:
        such a route only has to match the segments its parameters are in.
        """
        segments = path.split("/")
        last = len(segments)
        if last == 1 or segments[0]:
            return self._barriers, None
        node, depth = self._root, 1
        # Fast path: while there is a single way down and no tail to collect, the
        # answer is precomputed on the node where the path ends.
        while not node.branchy:
            if depth == last:
                return node.result, segments
            # A node without literal children (/users/{id}) skips hashing the segment.
            literal = node.literal
            child = literal.get(segments[depth]) if literal else None
            if child is None:
                child = node.wild
                if child is None:
                    return self._barriers, segments
            node, depth = child, depth + 1
        return self._walk(segments), segments
