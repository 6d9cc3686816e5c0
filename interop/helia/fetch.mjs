// Fetches one block by CID from a peer over bitswap with helia, prints its sha-256.
import { createHelia } from 'helia'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { multiaddr } from '@multiformats/multiaddr'
import { CID } from 'multiformats/cid'
import { createHash } from 'node:crypto'

const [addr, cidText] = process.argv.slice(2)
const helia = await createHelia({
  libp2p: {
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify() },
    peerDiscovery: []
  }
})
await helia.start()
try {
  await helia.libp2p.dial(multiaddr(addr))
  const got = await helia.blockstore.get(CID.parse(cidText), { signal: AbortSignal.timeout(30000) })
  // helia 7 streams a block's bytes; older versions return them whole
  let bytes = got
  if (!(got instanceof Uint8Array)) {
    const parts = []
    for await (const part of got) parts.push(part)
    bytes = Buffer.concat(parts)
  }
  console.log(JSON.stringify({ agent: 'helia', bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') }))
} finally {
  await helia.stop()
}
