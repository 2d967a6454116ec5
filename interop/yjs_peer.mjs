// A stock Yjs client (yjs + y-websocket's WebsocketProvider) driven over
// stdin/stdout with JSON lines, for Tandem's interop tests.
//
//   node yjs_peer.mjs <server ws url, e.g. ws://127.0.0.1:8080/yjs> <room> <name> [key]
//
// Commands (one JSON object per line on stdin), each answered by one line:
//   {"cmd":"insert","index":0,"text":"hi"}   → {"ok":true}
//   {"cmd":"state"}                          → {"text":"…","synced":true,"peers":["Ada",…]}
//   {"cmd":"cursor","index":3}               → {"ok":true}   (awareness cursor at index)
//   {"cmd":"bad_update"}                     → {"ok":true}   (sends a malformed update frame)
//   {"cmd":"quit"}                           → exits
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import WebSocket from 'ws'
import * as readline from 'node:readline'

const [url, room, name, key] = process.argv.slice(2)
const doc = new Y.Doc()
const text = doc.getText('content')
const provider = new WebsocketProvider(url, room, doc, {
  WebSocketPolyfill: WebSocket,
  // Without this, two docs in one process would sync over BroadcastChannel.
  disableBc: true,
  params: key ? { key } : {},
  maxBackoffTime: 500
})
provider.awareness.setLocalStateField('user', { name, color: '#7e57c2' })

const reply = (obj) => process.stdout.write(JSON.stringify(obj) + '\n')
const peers = () => [...provider.awareness.getStates().entries()]
  .filter(([id, state]) => id !== doc.clientID && state && state.user)
  .map(([, state]) => state.user.name)
  .sort()

const lines = readline.createInterface({ input: process.stdin })
lines.on('line', (line) => {
  const cmd = JSON.parse(line)
  switch (cmd.cmd) {
    case 'insert':
      text.insert(cmd.index, cmd.text)
      return reply({ ok: true })
    case 'state':
      return reply({ text: text.toString(), synced: provider.synced, peers: peers() })
    case 'cursor': {
      const pos = Y.createRelativePositionFromTypeIndex(text, cmd.index)
      const json = Y.relativePositionToJSON(pos)
      provider.awareness.setLocalStateField('cursor', { anchor: json, head: json })
      return reply({ ok: true })
    }
    case 'bad_update':
      // sync (0), update (2), a 4-byte update claiming 2^28 clients.
      provider.ws.send(new Uint8Array([0, 2, 4, 0xff, 0xff, 0xff, 0x7f]))
      return reply({ ok: true })
    case 'quit':
      provider.destroy()
      process.exit(0)
  }
})
lines.on('close', () => { provider.destroy(); process.exit(0) })
