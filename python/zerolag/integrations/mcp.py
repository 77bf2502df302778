"""MCP on zerolag (``pip install zerolag[mcp]``, the official ``mcp`` SDK 2.x).

* :func:`create_server` / :class:`ZerolagMCPServer`: the MCP server of ``zerolag mcp`` on a
  hub (tools over tasks, documents, jobs, bus, events, patterns and memory; the documents as
  resources with update notifications); :func:`serve` runs it over stdio or streamable HTTP.
* :class:`MCPBatcher`: batched calls to an external MCP server's tools for backend handlers
  (a batch leaves at 10 calls or after 100 ms), each caller getting its own result or error
  (:class:`MCPToolError` when the tool reports one).

See docs/mcp.md.
"""

from __future__ import annotations

from ..mcp_batch import MCPBatcher, MCPToolError, ToolCaller
from ..mcp_server import READERS, WRITERS, ZerolagMCPServer, create_server, serve

__all__ = [
    "READERS",
    "WRITERS",
    "MCPBatcher",
    "MCPToolError",
    "ToolCaller",
    "ZerolagMCPServer",
    "create_server",
    "serve",
]
