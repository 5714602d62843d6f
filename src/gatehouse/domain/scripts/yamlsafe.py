"""Load untrusted YAML text safely, remembering where every value came from.

Defences: a size cap, no aliases or anchors at all (so no "billion laughs"), a nesting cap,
only plain YAML types (``SafeLoader``: no tags that construct objects), and a line map so
validation errors can name the offending line.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from gatehouse.domain.errors import ValidationFailed

MAX_YAML_BYTES = 512 * 1024
MAX_DEPTH = 20
MAX_SCALAR = 20_000

Path = tuple[str | int, ...]


class ScriptSyntaxError(ValidationFailed):
    error_id = "script-syntax"


class _NoAliasLoader(yaml.SafeLoader):
    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            raise ScriptSyntaxError(
                f"line {event.start_mark.line + 1}: YAML aliases are not allowed in scripts"
            )
        event = self.peek_event()  # type: ignore[no-untyped-call]
        anchor = getattr(event, "anchor", None)
        if anchor is not None:
            raise ScriptSyntaxError(
                f"line {event.start_mark.line + 1}: YAML anchors are not allowed in scripts"
            )
        node: Node | None = super().compose_node(parent, index)
        return node


def load(text: str) -> tuple[Any, dict[Path, int]]:
    """Parse YAML text into plain data plus a map from path to 1-based line number."""
    if len(text.encode("utf-8", errors="replace")) > MAX_YAML_BYTES:
        raise ScriptSyntaxError(f"script is larger than {MAX_YAML_BYTES // 1024} KiB")
    try:
        # The reader rejects control characters as soon as it is built, so build it here.
        loader = _NoAliasLoader(text)
    except yaml.YAMLError as exc:
        raise ScriptSyntaxError(f"not valid YAML: {str(exc).splitlines()[0]}") from None
    try:
        node = loader.get_single_node()
    except ScriptSyntaxError:
        raise
    except yaml.YAMLError as exc:
        raise ScriptSyntaxError(f"not valid YAML: {str(exc).splitlines()[0]}") from None
    finally:
        loader.dispose()
    if node is None:
        raise ScriptSyntaxError("the script is empty")
    lines: dict[Path, int] = {}
    return _build(node, (), lines, 0), lines


def _build(node: Node, path: Path, lines: dict[Path, int], depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise ScriptSyntaxError(f"line {node.start_mark.line + 1}: nested deeper than {MAX_DEPTH}")
    lines[path] = node.start_mark.line + 1
    if node.tag not in _PLAIN_TAGS:
        raise ScriptSyntaxError(
            f"line {node.start_mark.line + 1}: YAML tag {node.tag!r} is not allowed in scripts"
        )
    if isinstance(node, ScalarNode):
        if len(node.value) > MAX_SCALAR:
            raise ScriptSyntaxError(
                f"line {node.start_mark.line + 1}: a value longer than {MAX_SCALAR} characters"
            )
        value = yaml.SafeLoader.construct_scalar(_SCALAR_LOADER, node)
        tag = _SCALAR_LOADER.resolve(ScalarNode, node.value, (True, False))  # type: ignore[no-untyped-call]
        # Dates stay text: scripts have no use for timestamps, and text is predictable.
        if node.style is None and tag not in (
            "tag:yaml.org,2002:str",
            "tag:yaml.org,2002:timestamp",
        ):
            try:
                return _SCALAR_LOADER.construct_object(node)
            except yaml.YAMLError:
                return value
        return value
    if isinstance(node, SequenceNode):
        return [_build(child, (*path, i), lines, depth + 1) for i, child in enumerate(node.value)]
    if isinstance(node, MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                raise ScriptSyntaxError(f"line {key_node.start_mark.line + 1}: keys must be plain")
            key = str(key_node.value)
            if key in out:
                raise ScriptSyntaxError(
                    f"line {key_node.start_mark.line + 1}: duplicate key {key!r}"
                )
            out[key] = _build(value_node, (*path, key), lines, depth + 1)
        return out
    raise ScriptSyntaxError(f"line {node.start_mark.line + 1}: unsupported YAML node")


_SCALAR_LOADER = yaml.SafeLoader("")
_PLAIN_TAGS = frozenset(
    f"tag:yaml.org,2002:{name}"
    for name in ("str", "int", "float", "bool", "null", "map", "seq", "timestamp")
)


def line_of(lines: dict[Path, int], loc: tuple[Any, ...]) -> int | None:
    """The line of the deepest known prefix of a Pydantic error location."""
    path: tuple[Any, ...] = tuple(loc)
    while path:
        if path in lines:
            return lines[path]
        path = path[:-1]
    return lines.get(())
