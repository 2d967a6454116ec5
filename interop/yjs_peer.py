"""A stock Python Yjs client (pycrdt + pycrdt-websocket) driven over
stdin/stdout with JSON lines, for Tandem's interop tests.

    python yjs_peer.py <server ws url, e.g. ws://127.0.0.1:8080/yjs> <room> <name> [key]

Commands as in yjs_peer.mjs: insert, state, quit. pycrdt's provider syncs
the document; awareness goes through pycrdt's Awareness on the same socket.
It reconnects by itself when the connection drops.
"""

import json
import sys

import anyio
from httpx_ws import aconnect_ws
from pycrdt import Awareness, Doc, Provider, Text, YMessageType, create_awareness_message
from pycrdt.websocket.websocket import HttpxWebsocket


class AwareChannel(HttpxWebsocket):
    """The pycrdt-websocket channel, also applying awareness frames (the
    provider itself only handles sync)."""

    def __init__(self, websocket, path, awareness):
        super().__init__(websocket, path)
        self.awareness = awareness

    async def recv(self) -> bytes:
        while True:
            message = await super().recv()
            if message[0] == YMessageType.AWARENESS:
                # Skip the varuint length prefix of the payload.
                i = 1
                while message[i] & 0x80:
                    i += 1
                self.awareness.apply_awareness_update(message[i + 1 :], "remote")
                continue
            return message


async def main() -> None:
    url, room, name = sys.argv[1:4]
    key = sys.argv[4] if len(sys.argv) > 4 else None
    doc = Doc()
    text = doc.get("content", type=Text)
    awareness = Awareness(doc)
    awareness.set_local_state({"user": {"name": name, "color": "#43a047"}})
    state = {"synced": False}
    target = f"{url}/{room}" + (f"?key={key}" if key else "")

    async def connect_forever() -> None:
        while True:
            try:
                async with aconnect_ws(target) as ws:
                    channel = AwareChannel(ws, room, awareness)
                    async with Provider(doc, channel) as provider:
                        update = awareness.encode_awareness_update([doc.client_id])
                        await channel.send(create_awareness_message(update))
                        await provider.synced.wait()
                        state["synced"] = True
                        await anyio.sleep_forever()
            except Exception:
                state["synced"] = False
                await anyio.sleep(0.3)

    def reply(obj) -> None:
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()

    async with anyio.create_task_group() as tg:
        tg.start_soon(connect_forever)
        stdin = anyio.wrap_file(sys.stdin)
        async for line in stdin:
            cmd = json.loads(line)
            if cmd["cmd"] == "insert":
                text.insert(cmd["index"], cmd["text"])
                reply({"ok": True})
            elif cmd["cmd"] == "state":
                peers = sorted(
                    s["user"]["name"]
                    for cid, s in awareness.states.items()
                    if cid != doc.client_id and s and "user" in s
                )
                reply({"text": str(text), "synced": state["synced"], "peers": peers})
            elif cmd["cmd"] == "quit":
                break
        tg.cancel_scope.cancel()


if __name__ == "__main__":
    anyio.run(main)
