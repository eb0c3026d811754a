// Type declarations for the primus-rs browser client.
//
// Served by primus-rs at `<pathname>/primus.client.d.ts`; they describe
// `<pathname>/primus.mjs` (default export) and `<pathname>/primus.js`
// (a global `Primus`, or `module.exports` under CommonJS). Script-tag users
// can declare the global with:
//
//     declare const Primus: typeof import('./primus.client').default;
//
// The class is generic over three event maps so that typings generated from
// the Rust event enums plug in:
//
//     const primus = new Primus<ChatClientEvents, ChatServerEvents, ChatRequests>();
//     primus.send('say', 'hi');                          // payload checked
//     const names = await primus.request('join', { name: 'ada' }); // reply typed
//     primus.on('message', ({ from, text }) => {});      // payload typed
//
// Self-contained: no other declaration file is needed.

declare namespace Primus {
  /** `Primus.OPENING`, `Primus.CLOSED` or `Primus.OPEN`. */
  type ReadyState = 1 | 2 | 3;

  /** A duration in ms, or a string such as `'500 ms'` or `'30 seconds'`. */
  type Duration = number | string;

  /** Reconnect backoff settings (`options.reconnect`). */
  interface ReconnectOptions {
    /** Delay of the first attempt, and base of the later ones (default 500 ms). */
    min?: Duration;
    /** Upper bound of a delay (default Infinity). */
    max?: Duration;
    /** Attempts before giving up with `reconnect failed` (default 10). */
    retries?: number;
    /** Growth factor of the delay (default 2). */
    factor?: number;
    /** Time allowed for one attempt to connect (default 30000). */
    'reconnect timeout'?: Duration;
  }

  /** Options of `new Primus(url, options)`. */
  interface Options {
    /** The server URL when not given as the first argument. */
    url?: string;
    /** Alias of `url`. */
    uri?: string;
    /** Do not connect until `open()` is called (default false). */
    manual?: boolean;
    /** Connect timeout in ms, `false` for none (default 10000). */
    timeout?: number | false;
    /** No ping within this many ms means offline (default: 1.5 × the server's ping interval). */
    pingTimeout?: number | false;
    /** Reconnect backoff settings. */
    reconnect?: ReconnectOptions;
    /** When to reconnect: `"disconnect,online,timeout"` by default; `false` never. */
    strategy?: string | string[] | false;
    /** Maximum number of writes queued while not connected (default Infinity; oldest dropped). */
    queueSize?: number;
    /** Default timeout of `request()` in ms (default 10000). */
    requestTimeout?: number;
    /** Ask the server for connection state recovery (default true; only primus-rs servers with `recovery` on answer). */
    resume?: boolean;
    /** engine.io and SockJS servers: `false` keeps to polling (default true). */
    websockets?: boolean;
    /** SockJS servers: `{ transports: ['websocket', 'xhr-streaming', 'xhr-polling'] }` picks and orders them. */
    transport?: { transports?: Array<'websocket' | 'xhr-streaming' | 'xhr-polling'> };
  }

  /** The reconnect state passed to the `reconnect*` events. */
  interface ReconnectState {
    'reconnect timeout': number;
    retries: number;
    factor: number;
    max: number;
    min: number;
    /** Epoch ms of the first scheduled attempt. */
    start: number;
    /** ms since `start`. */
    duration: number;
    /** 1-based number of the attempt. */
    attempt: number;
    /** True while waiting for the attempt. */
    backoff: boolean;
    /** The delay of this attempt in ms. */
    scheduled: number;
  }

  /** Options of one `request()`. */
  interface RequestOptions {
    /** Reject after this many ms (default `options.requestTimeout`, 10000). */
    timeout?: number;
  }

  /** Why a `request()` was rejected. */
  interface RequestError extends Error {
    /** `REJECTED`: the server answered with an error (the message is its text). */
    code: 'REJECTED' | 'TIMEOUT' | 'CLOSED';
    /** The request's event name. */
    event: string;
  }

  /** The client's own events and their listener signatures. */
  interface ReservedEvents {
    open: () => void;
    data: (data: unknown, raw: string | ArrayBuffer) => void;
    end: () => void;
    close: () => void;
    error: (error: Error) => void;
    timeout: () => void;
    online: () => void;
    offline: () => void;
    destroy: () => void;
    readyStateChange: (state: 'opening' | 'open' | 'end') => void;
    'reconnect scheduled': (state: ReconnectState) => void;
    reconnect: (state: ReconnectState) => void;
    reconnected: (state: ReconnectState) => void;
    'reconnect timeout': (error: Error, state: ReconnectState) => void;
    'reconnect failed': (error: Error, state: ReconnectState) => void;
    /** After a reconnect: the server resumed the session (same id and rooms); missed messages follow. */
    resumed: () => void;
    /** After a reconnect: the session could not be resumed; this is a new spark. */
    'not resumed': () => void;
    'incoming::ping': (timestamp: number) => void;
    'outgoing::pong': (timestamp: number) => void;
    'incoming::id': (id: string) => void;
    'outgoing::end': () => void;
  }

  /** Requests map event names to their payload and reply types. */
  type RequestMap<T> = { [K in keyof T]: { data: unknown; reply: unknown } };

  /** Arguments after the event name: the payload is optional when it may be undefined. */
  type PayloadArgs<D, Rest extends unknown[] = []> = undefined extends D
    ? [data?: D, ...rest: Rest]
    : [data: D, ...rest: Rest];

  /** Names usable as typed event names (the reserved ones are excluded). */
  type TypedName<Map> = Exclude<keyof Map & string, keyof ReservedEvents>;

  /** A client-side plugin: runs inside every new client. */
  type Plugin = (primus: Primus<any, any, any>, options: Options) => void;

  /** The minimal event emitter the client is built on. */
  class EventEmitter {
    on(event: string, fn: (...args: any[]) => void, context?: unknown): this;
    addListener(event: string, fn: (...args: any[]) => void, context?: unknown): this;
    once(event: string, fn: (...args: any[]) => void, context?: unknown): this;
    off(event: string, fn?: (...args: any[]) => void): this;
    removeListener(event: string, fn?: (...args: any[]) => void): this;
    removeAllListeners(event?: string): this;
    listeners(event: string): Array<(...args: any[]) => void>;
    listenerCount(event: string): number;
    emit(event: string, ...args: unknown[]): boolean;
  }
}

/**
 * A connection to a primus-rs (or Primus 8) server.
 *
 * - `ClientEvents`: typed events this client sends (`send`).
 * - `ServerEvents`: typed events the server sends (`on(name)`).
 * - `Requests`: typed requests (`request`) with their payload and reply types.
 * - `ServerRequests`: typed requests the server sends (`answer`), with their
 *   payload and reply types.
 */
declare class Primus<
  ClientEvents = Record<string, unknown>,
  ServerEvents = Record<string, unknown>,
  Requests extends Primus.RequestMap<Requests> = Record<string, { data: unknown; reply: unknown }>,
  ServerRequests extends Primus.RequestMap<ServerRequests> = Record<string, { data: unknown; reply: unknown }>,
> {
  /** Connects to `url` (default `location.origin`; its path is ignored). */
  constructor(url?: string, options?: Primus.Options);
  /** Connects with `options.url` (default `location.origin`). */
  constructor(options: Primus.Options);

  /** `new Primus(url, options)`. */
  static connect<
    C = Record<string, unknown>,
    S = Record<string, unknown>,
    R extends Primus.RequestMap<R> = Record<string, { data: unknown; reply: unknown }>,
  >(url?: string, options?: Primus.Options): Primus<C, S, R>;

  static readonly OPENING: 1;
  static readonly CLOSED: 2;
  static readonly OPEN: 3;
  /** The Primus protocol version spoken. */
  static readonly version: string;
  /** The pathname of the server that served the client. */
  static readonly pathname: string;
  /** True for the names of the client's own events. */
  static reserved(event: string): boolean;
  /** Client parts of plugins, by name. */
  static plugins: Record<string, Primus.Plugin>;

  readonly OPENING: 1;
  readonly CLOSED: 2;
  readonly OPEN: 3;

  /** `Primus.OPENING`, `Primus.CLOSED` or `Primus.OPEN`. */
  readonly readyState: Primus.ReadyState;
  /** False after a heartbeat timeout or a browser `offline` event. */
  readonly online: boolean;
  /** The normalised options. */
  readonly options: Required<Omit<Primus.Options, 'url' | 'uri' | 'strategy'>> & { strategy: string };
  /** Writes queued while not connected. */
  readonly buffer: unknown[];
  /** The URL given to the constructor. */
  readonly url: string;

  /** The WebSocket URL of the next connection. */
  uri(): string;
  /** Connects (automatic unless `manual`). */
  open(): this;
  /** Sends `data` JSON-encoded; queued while not connected. Always true. */
  write(data: unknown): boolean;
  /** Closes for good (writing `data` first when given). */
  end(data?: unknown): this;
  /** `end()`, then removes every listener. */
  destroy(): this;
  /** Asks the server for this connection's spark id. */
  id(cb: (id: string) => void): this;
  id(): Promise<string>;
  /** Re-arms the heartbeat timer. */
  heartbeat(): this;

  /** Sends the typed event `{"event": event, "data": data}`. */
  send<K extends keyof ClientEvents & string>(event: K, ...data: Primus.PayloadArgs<ClientEvents[K]>): boolean;
  /** Sends a typed request and resolves with the server's reply. */
  request<K extends keyof Requests & string>(
    event: K,
    ...args: Primus.PayloadArgs<Requests[K]['data'], [options?: Primus.RequestOptions]>
  ): Promise<Requests[K]['reply']>;

  /**
   * Answers the server's requests for `event` with `handler`'s return value
   * (or the value of its promise); a throw answers with an error.
   */
  answer<K extends keyof ServerRequests & string>(
    event: K,
    handler: (data: ServerRequests[K]['data']) => ServerRequests[K]['reply'] | Promise<ServerRequests[K]['reply']>,
  ): this;

  on<K extends keyof Primus.ReservedEvents>(event: K, fn: Primus.ReservedEvents[K], context?: unknown): this;
  on<K extends Primus.TypedName<ServerEvents>>(event: K, fn: (data: ServerEvents[K]) => void, context?: unknown): this;
  addListener<K extends keyof Primus.ReservedEvents>(event: K, fn: Primus.ReservedEvents[K], context?: unknown): this;
  addListener<K extends Primus.TypedName<ServerEvents>>(event: K, fn: (data: ServerEvents[K]) => void, context?: unknown): this;
  once<K extends keyof Primus.ReservedEvents>(event: K, fn: Primus.ReservedEvents[K], context?: unknown): this;
  once<K extends Primus.TypedName<ServerEvents>>(event: K, fn: (data: ServerEvents[K]) => void, context?: unknown): this;
  off<K extends keyof Primus.ReservedEvents>(event: K, fn?: Primus.ReservedEvents[K]): this;
  off<K extends Primus.TypedName<ServerEvents>>(event: K, fn?: (data: ServerEvents[K]) => void): this;
  removeListener<K extends keyof Primus.ReservedEvents>(event: K, fn?: Primus.ReservedEvents[K]): this;
  removeListener<K extends Primus.TypedName<ServerEvents>>(event: K, fn?: (data: ServerEvents[K]) => void): this;
  removeAllListeners(event?: keyof Primus.ReservedEvents | Primus.TypedName<ServerEvents>): this;
  listeners(event: string): Array<(...args: any[]) => void>;
  listenerCount(event: string): number;
  emit(event: string, ...args: unknown[]): boolean;
}

export default Primus;
