"""uvicorn's server, stopped at once: for the sandbox and the webhook receiver (background threads).

Stopping a plain :class:`uvicorn.Server` from another thread costs 0.1–0.25 s of sleeping:
its main loop looks at ``should_exit`` every 0.1 s, and its shutdown sleeps 0.1 s after asking
open connections to close, then checks every 0.1 s whether they have. The test suite starts
and stops a few hundred sandboxes, and ``milo-analytics demo`` one. :class:`PromptServer`
keeps uvicorn's behaviour — stop accepting, let requests in flight finish (no timeout, as
uvicorn without ``timeout_graceful_shutdown``), wait for background tasks, run the lifespan
shutdown — but :meth:`PromptServer.request_exit` wakes the main loop at once and the shutdown
polls every few milliseconds. (``timeout_graceful_shutdown`` is not the tool: it only bounds
the wait for busy connections, and logs an ERROR line when it cancels them.)

Examples
--------
>>> import socket, threading, time, uvicorn
>>> async def app(scope, receive, send):  # a do-nothing ASGI app
...     pass
>>> server = PromptServer(uvicorn.Config(app, lifespan="off", log_level="error"))
>>> sock = socket.create_server(("127.0.0.1", 0))
>>> thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]})
>>> thread.start()
>>> while not server.started:
...     time.sleep(0.005)
>>> server.request_exit(); thread.join(5); thread.is_alive()
False
"""

from __future__ import annotations

import asyncio
import contextlib
import socket

import uvicorn

__all__ = ["PromptServer"]

#: How often the shutdown looks whether the open connections and tasks are gone.
_POLL = 0.002


class PromptServer(uvicorn.Server):
    """A :class:`uvicorn.Server` that a thread can stop without waiting out uvicorn's sleeps.

    Call :meth:`request_exit` (instead of setting ``should_exit``) from any thread, then join
    the thread running :meth:`run`.
    """

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None

    def request_exit(self) -> None:
        """Ask the server to stop, and wake its main loop now (safe from any thread)."""
        self.should_exit = True
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None:
            # the loop may have closed already (the server stopped by itself)
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(wake.set)

    async def main_loop(self) -> None:
        """uvicorn's main loop (a tick every 0.1 s: the Date header, max requests), woken early
        by :meth:`request_exit`."""
        # set before the first look at should_exit: request_exit sets should_exit before it
        # reads these, so either this loop sees the flag or request_exit sees the event
        self._wake = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        counter = 0
        should_exit = await self.on_tick(counter)
        while not should_exit:
            counter = (counter + 1) % 864000
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), 0.1)
            should_exit = await self.on_tick(counter)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        """uvicorn's graceful shutdown, polling every few ms instead of sleeping 0.1 s steps."""
        for server in self.servers:
            server.close()
        for sock in sockets or []:
            sock.close()
        for connection in list(self.server_state.connections):
            connection.shutdown()
        # connections with a request in flight close when its response is sent; idle ones
        # leave the set one loop turn after the close
        while (self.server_state.connections or self.server_state.tasks) and not self.force_exit:
            await asyncio.sleep(_POLL)
        for server in self.servers:
            await server.wait_closed()
        if not self.force_exit:
            await self.lifespan.shutdown()
