// A lean HTTP/1.1 client connection to one backend, kept alive in a pool by
// the built-in router. The router writes a request head (and body) and the
// connection parses the response incrementally (status line, headers, then a
// body framed by Content-Length, chunked encoding or the connection's close)
// and hands it to its user piece by piece. Node's ClientRequest/Agent cost
// about half of a proxied request's CPU time; this does the same work with
// one object per connection and none per request.
import net from "node:net";

/** Longest response head accepted from a backend. */
const MAX_HEAD = 64 * 1024;
/** Longest chunk-size or trailer line. */
const MAX_LINE = 8 * 1024;
const CRLF2 = Buffer.from("\r\n\r\n");
const EMPTY = Buffer.alloc(0);
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Control characters other than tab are not allowed in a header value. */
const BAD_VALUE = /[\x00-\x08\x0a-\x1f\x7f]/;

export interface ConnectionUser {
  /** The response's status line and headers (raw name/value pairs, as Node's rawHeaders). */
  onHead(status: number, message: string, headers: string[], bodyless: boolean): boolean;
  /** Body bytes; `last` with the final piece (possibly empty). Returns false to pause reading. */
  onBody(chunk: Buffer, last: boolean): boolean;
  /** The exchange failed: before the response head (`beforeHead`) or in its body. */
  onFailure(err: NodeJS.ErrnoException, beforeHead: boolean): void;
  /** The socket can take more request body. */
  onDrain(): void;
}

const enum Phase {
  Idle,
  Head,
  Fixed,
  ChunkSize,
  ChunkData,
  ChunkEnd,
  Trailers,
  UntilClose,
}

function failure(code: string, message: string): NodeJS.ErrnoException {
  const err = new Error(message) as NodeJS.ErrnoException;
  err.code = code;
  return err;
}

export class BackendConnection {
  readonly socket: net.Socket;
  /** Responses completed on this connection; a request on it is "reused" when > 0. */
  completed = 0;
  connected = false;
  private user: ConnectionUser | undefined;
  private phase = Phase.Idle;
  private head: Buffer | undefined;
  private remaining = 0;
  private line = "";
  private keepAlive = true;
  private headRequest = false;
  private gotHead = false;
  private closed = false;
  private connectTimer: NodeJS.Timeout | undefined;

  constructor(
    host: string,
    port: number,
    connectTimeoutMs: number,
    private readonly backendTimeoutMs: number,
    private readonly idleTimeoutMs: number,
    private readonly onReusable: (c: BackendConnection) => void,
    private readonly onGone: (c: BackendConnection) => void,
  ) {
    const socket = net.createConnection({ host, port, noDelay: true } as net.NetConnectOpts);
    this.socket = socket;
    this.connectTimer = setTimeout(() => socket.destroy(failure("ECONNECT_TIMEOUT", `connect timed out after ${connectTimeoutMs} ms`)), connectTimeoutMs);
    this.connectTimer.unref();
    socket.on("connect", () => {
      clearTimeout(this.connectTimer);
      this.connected = true;
    });
    socket.on("data", (d: Buffer) => this.onData(d));
    socket.on("drain", () => this.user?.onDrain());
    socket.on("timeout", () => {
      if (this.user) socket.destroy(failure("EBACKEND_TIMEOUT", `no answer within ${this.backendTimeoutMs} ms`));
      else socket.destroy();
    });
    socket.on("error", (err: NodeJS.ErrnoException) => this.onClose(err));
    socket.on("close", () => this.onClose(undefined));
  }

  get busy(): boolean {
    return this.user !== undefined;
  }

  get usable(): boolean {
    return !this.closed && !this.socket.destroyed;
  }

  /** Starts an exchange: `head` is the request head (ending in an empty line); the body, if any, follows with write(). */
  begin(user: ConnectionUser, head: string, headRequest: boolean): void {
    this.user = user;
    this.phase = Phase.Head;
    this.headRequest = headRequest;
    this.gotHead = false;
    this.keepAlive = true;
    this.socket.setTimeout(this.backendTimeoutMs);
    this.socket.write(head, "latin1");
  }

  write(chunk: Buffer | string): boolean {
    return this.socket.write(chunk);
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  /** The request was not sent whole (the backend answered early): close the connection after this response. */
  closeAfterResponse(): void {
    this.keepAlive = false;
  }

  /** Gives up the exchange (the client went away): the connection cannot be reused. */
  abandon(): void {
    this.user = undefined;
    this.socket.destroy();
  }

  destroy(): void {
    this.socket.destroy();
  }

  private onClose(err: NodeJS.ErrnoException | undefined): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.connectTimer);
    const user = this.user;
    this.user = undefined;
    this.onGone(this);
    if (!user) return;
    if (this.phase === Phase.UntilClose && !err) {
      // A body delimited by the connection's close is complete now.
      this.phase = Phase.Idle;
      user.onBody(EMPTY, true);
      return;
    }
    const e = err ?? failure(this.gotHead ? "EBACKEND_ABORTED" : "EBACKEND_CLOSED", this.gotHead ? "the backend closed the connection in the middle of its response" : "the backend closed the connection before answering");
    user.onFailure(e, !this.gotHead);
  }

  private protocolError(message: string): void {
    this.socket.destroy(failure("EBACKEND_PROTOCOL", `the backend's response is not valid HTTP/1.1: ${message}`));
  }

  /** The response is complete: the connection goes back to the pool (unless bytes follow it), then the user gets the last piece. */
  private finish(last: Buffer, leftover: boolean): void {
    const user = this.user!;
    this.phase = Phase.Idle;
    this.completed++;
    this.user = undefined;
    if (this.keepAlive && !this.closed && !leftover) {
      this.socket.setTimeout(this.idleTimeoutMs);
      // A slow client may have paused reading during this response, and the
      // client's 'drain' that would resume it need not come once the response
      // has ended: a paused connection in the pool would never read the next
      // answer (a 504 after the backend timeout).
      this.socket.resume();
      this.onReusable(this);
    } else this.socket.destroy();
    user.onBody(last, true);
  }

  private onData(d: Buffer): void {
    let off = 0;
    while (off < d.length) {
      if (this.user === undefined) {
        // Bytes after a complete response, or while idle: the connection is out of step.
        this.socket.destroy();
        return;
      }
      switch (this.phase) {
        case Phase.Head: {
          const buf = this.head === undefined ? (off === 0 ? d : d.subarray(off)) : Buffer.concat([this.head, d.subarray(off)]);
          const end = buf.indexOf(CRLF2, this.head === undefined ? 0 : Math.max(0, this.head.length - 3));
          if (end < 0) {
            if (buf.length > MAX_HEAD) return this.protocolError(`a response head longer than ${MAX_HEAD} bytes`);
            this.head = Buffer.from(buf);
            return;
          }
          this.head = undefined;
          d = buf;
          off = end + 4;
          if (!this.parseHead(buf.toString("latin1", 0, end))) return;
          if ((this.phase as Phase) === Phase.Idle) return this.finish(EMPTY, off < d.length);
          break;
        }
        case Phase.Fixed: {
          const n = Math.min(this.remaining, d.length - off);
          const piece = n === d.length ? d : d.subarray(off, off + n);
          off += n;
          this.remaining -= n;
          if (this.remaining === 0) return this.finish(piece, off < d.length);
          if (!this.user.onBody(piece, false)) this.socket.pause();
          break;
        }
        case Phase.ChunkSize:
        case Phase.Trailers: {
          const nl = d.indexOf(10, off);
          if (nl < 0) {
            this.line += d.toString("latin1", off);
            if (this.line.length > MAX_LINE) return this.protocolError("a chunk-size or trailer line too long");
            return;
          }
          const text = (this.line + d.toString("latin1", off, nl)).replace(/\r$/, "");
          this.line = "";
          off = nl + 1;
          if (this.phase === Phase.Trailers) {
            if (text === "") return this.finish(EMPTY, off < d.length);
            break;
          }
          const semi = text.indexOf(";");
          const hex = (semi < 0 ? text : text.slice(0, semi)).trim();
          if (!/^[0-9a-fA-F]{1,12}$/.test(hex)) return this.protocolError(`a bad chunk size '${text.slice(0, 40)}'`);
          const size = parseInt(hex, 16);
          if (size === 0) this.phase = Phase.Trailers;
          else {
            this.remaining = size;
            this.phase = Phase.ChunkData;
          }
          break;
        }
        case Phase.ChunkData: {
          const n = Math.min(this.remaining, d.length - off);
          const piece = d.subarray(off, off + n);
          off += n;
          this.remaining -= n;
          if (this.remaining === 0) {
            this.phase = Phase.ChunkEnd;
            this.remaining = 2;
          }
          if (!this.user.onBody(piece, false)) this.socket.pause();
          break;
        }
        case Phase.ChunkEnd: {
          // The CRLF after a chunk's data.
          const c = d[off]!;
          if ((this.remaining === 2 && c !== 13 && c !== 10) || (this.remaining === 1 && c !== 10)) return this.protocolError("no CRLF after a chunk");
          off++;
          this.remaining = c === 10 ? 0 : this.remaining - 1;
          if (this.remaining === 0) this.phase = Phase.ChunkSize;
          break;
        }
        case Phase.UntilClose: {
          const piece = off === 0 ? d : d.subarray(off);
          off = d.length;
          if (!this.user.onBody(piece, false)) this.socket.pause();
          break;
        }
        default:
          this.socket.destroy();
          return;
      }
    }
  }

  /** Status line and headers; sets the body's framing. False when the connection was failed. */
  private parseHead(text: string): boolean {
    let eol = text.indexOf("\r\n");
    if (eol < 0) eol = text.length;
    // HTTP/1.x NNN[ reason]
    const code = Number(text.slice(9, 12));
    if (!text.startsWith("HTTP/1.") || (text.charCodeAt(7) !== 48 && text.charCodeAt(7) !== 49) || text.charCodeAt(8) !== 32 || !(code >= 100 && code <= 999) || (eol > 12 && text.charCodeAt(12) !== 32)) {
      this.protocolError(`the status line '${text.slice(0, Math.min(eol, 60))}'`);
      return false;
    }
    const http10 = text.charCodeAt(7) === 48;
    const message = eol > 13 ? text.slice(13, eol) : "";
    const headers: string[] = [];
    let length = -1;
    let chunked = false;
    let connection = "";
    while (eol < text.length) {
      const start = eol + 2;
      eol = text.indexOf("\r\n", start);
      if (eol < 0) eol = text.length;
      const colon = text.indexOf(":", start);
      const first = text.charCodeAt(start);
      if (colon <= start || colon > eol || first === 32 || first === 9) {
        this.protocolError(`the header line '${text.slice(start, Math.min(eol, start + 60))}'`);
        return false;
      }
      const name = text.slice(start, colon);
      const value = text.slice(colon + 1, eol).trim();
      if (!TOKEN.test(name) || BAD_VALUE.test(value)) {
        this.protocolError(`the header '${name.slice(0, 40)}'`);
        return false;
      }
      switch (name.length) {
        case 10:
          if (name.toLowerCase() === "connection") connection = value.toLowerCase();
          break;
        case 14:
          if (name.toLowerCase() === "content-length") {
            if (!/^\d{1,15}$/.test(value) || (length >= 0 && Number(value) !== length)) {
              this.protocolError(`Content-Length '${value}'`);
              return false;
            }
            length = Number(value);
          }
          break;
        case 17:
          if (name.toLowerCase() === "transfer-encoding") {
            if (value.toLowerCase() !== "chunked") {
              this.protocolError(`Transfer-Encoding '${value}' (only chunked is supported)`);
              return false;
            }
            chunked = true;
          }
          break;
      }
      headers.push(name, value);
    }
    if (code < 200) {
      // 100 Continue, 103 Early Hints: the final response follows (101 is never asked for here).
      if (code === 101) {
        this.protocolError("101 Switching Protocols to a request that asked for no upgrade");
        return false;
      }
      return true;
    }
    this.gotHead = true;
    if (http10 ? !connection.includes("keep-alive") : connection.includes("close")) this.keepAlive = false;
    const bodyless = this.headRequest || code === 204 || code === 304;
    let phase: Phase;
    if (bodyless) phase = Phase.Idle;
    else if (chunked) phase = Phase.ChunkSize;
    else if (length >= 0) phase = length === 0 ? Phase.Idle : Phase.Fixed;
    else {
      phase = Phase.UntilClose;
      this.keepAlive = false;
    }
    this.remaining = length;
    this.phase = phase;
    if (!this.user!.onHead(code, message, headers, phase === Phase.Idle) && phase !== Phase.Idle) this.socket.pause();
    return true;
  }
}
