/*!
 * primus-rs browser client.
 *
 * Speaks the Primus 8 protocol (json parser, or msgpack over websockets) to a primus-rs server over
 * the server's transformer (websockets; engine.io: polling and the upgrade
 * to WebSocket; SockJS: websocket, xhr-streaming, xhr-polling), with the client API Primus users know, plus a small
 * typed-event layer (`send`, `request`, `on(name)`) over the
 * `{"event":..,"data":..}` wire shape of primus-rs typed events.
 *
 * Served by the server at `<pathname>/primus.js` (this file: a global
 * `Primus`, or `module.exports` under CommonJS) and at
 * `<pathname>/primus.mjs` (the same code as an ES module with a default
 * export). The server fills in the compiled-in values (see COMPILED).
 */
(function (root, factory) {
  'use strict';
  var Primus = factory();
  if (typeof module === 'object' && module && typeof module.exports === 'object') {
    module.exports = Primus;
  } else {
    root.Primus = Primus;
  }
}(typeof globalThis !== 'undefined' ? globalThis : typeof self !== 'undefined' ? self : this, function () {
'use strict';
// primus-rs:body:start

/** Values compiled in by the server that serves this file. */
var COMPILED = {
  pathname: '{primus::pathname}',
  pingTimeout: '{primus::pingTimeout}',
  parser: '{primus::parser}',
  version: '{primus::version}',
  transformer: '{primus::transformer}'
};

/** Primus' `websockets`, `faye` and `uws` transformers share one wire. */
var WEBSOCKET_FAMILY = COMPILED.transformer !== 'engine.io' && COMPILED.transformer !== 'sockjs';

if (COMPILED.transformer === 'browserchannel') {
  throw new Error(
    'primus-rs: this server speaks the "browserchannel" transformer, which the served browser client does not. ' +
    'Use the client Primus builds for browserchannel (npm browserchannel\'s BCSocket), or serve browsers with ' +
    'websockets, engine.io or sockjs.'
  );
}

if (COMPILED.parser !== 'json' && COMPILED.parser !== 'ejson' && !(COMPILED.parser === 'msgpack' && WEBSOCKET_FAMILY)) {
  throw new Error(
    'primus-rs: this server encodes messages with the "' + COMPILED.parser +
    '" parser, but the browser client only speaks "json", "ejson" (and "msgpack" over websockets, faye or uws). ' +
    'Build the server with the Json parser to serve browsers.'
  );
}

// ---------------------------------------------------------------------------
// MessagePack (the `msgpack` parser): what npm primus-msgpack (msgpack-lite)
// sends for JSON-like values, written here. Integers in the 32-bit range as
// integers, every other number as a float64; byte arrays as `bin`.
// ---------------------------------------------------------------------------

var MSGPACK_MAX_DEPTH = 128;

function msgpackEncode(value) {
  var bytes = [];
  var utf8 = typeof TextEncoder !== 'undefined' ? new TextEncoder() : null;
  function push(byte) { bytes.push(byte & 0xff); }
  function uint(n, width) { for (var i = width - 1; i >= 0; i--) push(Math.floor(n / Math.pow(2, 8 * i))); }
  function length(n, small, base8, base16, base32, fixLimit) {
    if (fixLimit && n < fixLimit) return push(small | n);
    if (base8 !== null && n < 0x100) { push(base8); return uint(n, 1); }
    if (n < 0x10000) { push(base16); return uint(n, 2); }
    push(base32); uint(n, 4);
  }
  function text(string) {
    if (utf8) return Array.prototype.slice.call(utf8.encode(string));
    return Array.prototype.slice.call(unescape(encodeURIComponent(string)), 0).map(function (c) { return c.charCodeAt(0); });
  }
  function write(v, depth) {
    if (depth > MSGPACK_MAX_DEPTH) throw new Error('nested too deep');
    if (v === null || v === undefined || typeof v === 'function' || typeof v === 'symbol') return push(0xc0);
    if (v === true) return push(0xc3);
    if (v === false) return push(0xc2);
    if (typeof v === 'number') {
      if (v === (v | 0)) {
        if (v >= 0) {
          if (v < 0x80) return push(v);
          if (v < 0x100) { push(0xcc); return uint(v, 1); }
          if (v < 0x10000) { push(0xcd); return uint(v, 2); }
          push(0xce); return uint(v, 4);
        }
        if (v >= -32) return push(0xe0 | (v + 32));
        if (v >= -128) { push(0xd0); return push(v & 0xff); }
        if (v >= -32768) { push(0xd1); return uint(v & 0xffff, 2); }
        push(0xd2); return uint(v >>> 0, 4);
      }
      var view = new DataView(new ArrayBuffer(8));
      view.setFloat64(0, v);
      push(0xcb);
      for (var f = 0; f < 8; f++) push(view.getUint8(f));
      return;
    }
    if (typeof v === 'string') {
      var encoded = text(v);
      length(encoded.length, 0xa0, 0xd9, 0xda, 0xdb, 32);
      for (var s = 0; s < encoded.length; s++) push(encoded[s]);
      return;
    }
    if (typeof ArrayBuffer !== 'undefined' && (v instanceof ArrayBuffer || ArrayBuffer.isView(v))) {
      var raw = v instanceof ArrayBuffer ? new Uint8Array(v) : new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
      length(raw.length, 0, 0xc4, 0xc5, 0xc6, 0);
      for (var b = 0; b < raw.length; b++) push(raw[b]);
      return;
    }
    if (Array.isArray(v)) {
      length(v.length, 0x90, null, 0xdc, 0xdd, 16);
      for (var a = 0; a < v.length; a++) write(v[a], depth + 1);
      return;
    }
    if (typeof v.toJSON === 'function') return write(v.toJSON(), depth);
    var keys = Object.keys(v);
    length(keys.length, 0x80, null, 0xde, 0xdf, 16);
    for (var k = 0; k < keys.length; k++) {
      write(keys[k], depth + 1);
      write(v[keys[k]], depth + 1);
    }
  }
  write(value, 0);
  return new Uint8Array(bytes);
}

function msgpackDecode(buffer) {
  var bytes = new Uint8Array(buffer);
  var view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  var at = 0;
  var utf8 = typeof TextDecoder !== 'undefined' ? new TextDecoder('utf-8') : null;
  function need(n) { if (at + n > bytes.length) throw new Error('Failed to decode incoming data: the value is cut short'); }
  function uint(width) {
    need(width);
    var n = 0;
    for (var i = 0; i < width; i++) n = n * 256 + bytes[at + i];
    at += width;
    return n;
  }
  function int(width) {
    var n = uint(width);
    var limit = Math.pow(2, 8 * width);
    return n >= limit / 2 ? n - limit : n;
  }
  function slice(n) { need(n); var part = bytes.subarray(at, at + n); at += n; return part; }
  function str(n) {
    var part = slice(n);
    if (utf8) return utf8.decode(part);
    return decodeURIComponent(escape(String.fromCharCode.apply(null, Array.prototype.slice.call(part))));
  }
  function float(width) {
    need(width);
    var v = width === 4 ? view.getFloat32(at) : view.getFloat64(at);
    at += width;
    return v;
  }
  function array(n, depth) { var out = []; for (var i = 0; i < n; i++) out.push(read(depth + 1)); return out; }
  function map(n, depth) {
    var out = {};
    for (var i = 0; i < n; i++) { var key = String(read(depth + 1)); out[key] = read(depth + 1); }
    return out;
  }
  function ext(n) { var type = int(1); return { type: type, data: slice(n) }; }
  function read(depth) {
    if (depth > MSGPACK_MAX_DEPTH) throw new Error('Failed to decode incoming data: nested too deep');
    need(1);
    var m = bytes[at++];
    if (m < 0x80) return m;
    if (m >= 0xe0) return m - 0x100;
    if (m < 0x90) return map(m & 0x0f, depth);
    if (m < 0xa0) return array(m & 0x0f, depth);
    if (m < 0xc0) return str(m & 0x1f);
    switch (m) {
      case 0xc0: return null;
      case 0xc2: return false;
      case 0xc3: return true;
      case 0xc4: return slice(uint(1)).slice();
      case 0xc5: return slice(uint(2)).slice();
      case 0xc6: return slice(uint(4)).slice();
      case 0xc7: return ext(uint(1));
      case 0xc8: return ext(uint(2));
      case 0xc9: return ext(uint(4));
      case 0xca: return float(4);
      case 0xcb: return float(8);
      case 0xcc: return uint(1);
      case 0xcd: return uint(2);
      case 0xce: return uint(4);
      case 0xcf: return uint(8);
      case 0xd0: return int(1);
      case 0xd1: return int(2);
      case 0xd2: return int(4);
      case 0xd3: return int(8);
      case 0xd4: return ext(1);
      case 0xd5: return ext(2);
      case 0xd6: return ext(4);
      case 0xd7: return ext(8);
      case 0xd8: return ext(16);
      case 0xd9: return str(uint(1));
      case 0xda: return str(uint(2));
      case 0xdb: return str(uint(4));
      case 0xdc: return array(uint(2), depth);
      case 0xdd: return array(uint(4), depth);
      case 0xde: return map(uint(2), depth);
      case 0xdf: return map(uint(4), depth);
      default: throw new Error('Failed to decode incoming data: invalid type 0x' + m.toString(16));
    }
  }
  var value = read(0);
  if (at !== bytes.length) throw new Error('Failed to decode incoming data: ' + (bytes.length - at) + ' bytes after the value');
  return value;
}

// ---------------------------------------------------------------------------
// EJSON (the `ejson` parser): what npm ejson 2.x writes and reads, written
// here. Dates, byte arrays, non-finite numbers and regular expressions travel
// as `{$date}`, `{$binary}`, `{$InfNaN}` and `{$regexp, $flags}`; an object
// that looks like one of those is wrapped in `{$escape}`.

/** True for an object EJSON would mistake for one of its own forms. */
function ejsonLooksSpecial(value) {
  var keys = Object.keys(value);
  var has = function (key) { return Object.prototype.hasOwnProperty.call(value, key); };
  if (keys.length === 1) return has('$date') || has('$InfNaN') || has('$binary') || has('$escape');
  if (keys.length === 2) return (has('$regexp') && has('$flags')) || (has('$type') && has('$value'));
  return false;
}

function ejsonBase64(bytes) {
  var text = '';
  for (var i = 0; i < bytes.length; i += 0x8000) {
    text += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  }
  return btoa(text);
}

function ejsonToJSON(value) {
  if (value instanceof Date) return { $date: value.getTime() };
  if (typeof Uint8Array !== 'undefined' && value instanceof Uint8Array) {
    return { $binary: ejsonBase64(value) };
  }
  if (typeof value === 'number' && !isFinite(value)) {
    return { $InfNaN: value !== value ? 0 : (value > 0 ? 1 : -1) };
  }
  if (value instanceof RegExp) return { $regexp: value.source, $flags: value.flags };
  if (Array.isArray(value)) return value.map(ejsonToJSON);
  if (value !== null && typeof value === 'object') {
    var out = {};
    Object.keys(value).forEach(function (key) { out[key] = ejsonToJSON(value[key]); });
    return ejsonLooksSpecial(value) ? { $escape: out } : out;
  }
  return value;
}

function ejsonFromJSON(value) {
  if (Array.isArray(value)) return value.map(ejsonFromJSON);
  if (value === null || typeof value !== 'object') return value;
  var keys = Object.keys(value);
  var special = keys.length <= 2 && keys.every(function (key) { return key.charAt(0) === '$'; });
  if (special && keys.length === 1) {
    switch (keys[0]) {
      case '$date': return new Date(value.$date);
      case '$InfNaN': return value.$InfNaN / 0;
      case '$binary':
        var text = atob(value.$binary);
        var bytes = new Uint8Array(text.length);
        for (var i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
        return bytes;
      case '$escape':
        var inner = {};
        Object.keys(value.$escape).forEach(function (key) { inner[key] = ejsonFromJSON(value.$escape[key]); });
        return inner;
    }
  }
  if (special && keys.length === 2) {
    if ('$regexp' in value && '$flags' in value) {
      // As npm ejson: known flags only, each once.
      var flags = String(value.$flags).slice(0, 50).replace(/[^gimuy]/g, '').replace(/(.)(?=.*\1)/g, '');
      return new RegExp(value.$regexp, flags);
    }
    if ('$type' in value && '$value' in value) throw new Error('Custom EJSON type ' + value.$type + ' is not defined');
  }
  var out = {};
  keys.forEach(function (key) { out[key] = ejsonFromJSON(value[key]); });
  return out;
}

/**
 * The codec of the server's parser: `encode(value)` gives what to send (or
 * undefined for nothing), `decode(raw)` gives `{ value }`, or `{ binary }`
 * for a frame the parser passes on undecoded.
 */
var CODEC = COMPILED.parser === 'msgpack' ? {
  encode: function (value) { return value === undefined ? undefined : msgpackEncode(value); },
  decode: function (raw) {
    if (typeof raw === 'string') throw new Error('Failed to decode incoming data: the msgpack parser expects binary frames');
    return { value: msgpackDecode(raw) };
  }
} : {
  encode: function (value) {
    var text = JSON.stringify(COMPILED.parser === 'ejson' ? ejsonToJSON(value) : value);
    return text === undefined ? undefined : text.replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
  },
  decode: function (raw) {
    // Binary frames are not decoded: they arrive as an ArrayBuffer.
    if (typeof raw !== 'string') return { binary: raw };
    var value = JSON.parse(raw);
    return { value: COMPILED.parser === 'ejson' ? ejsonFromJSON(value) : value };
  }
};

var PREFIX = 'primus::';

/** The close code of a lost connection whose session the server keeps. */
var RESUMABLE_CLOSE_CODE = 4001;

// ---------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------

function hasOwn(object, key) {
  return Object.prototype.hasOwnProperty.call(object, key);
}

function isPlainObject(value) {
  return value !== null && typeof value === 'object' && !Array.isArray(value) &&
    !(typeof ArrayBuffer !== 'undefined' && value instanceof ArrayBuffer);
}

/**
 * A reply has exactly two keys: `reply` and `data`, or `reply` and a string
 * `error`. Anything else (`{reply: 3, score: 10}`) is application data.
 */
function isReplyShape(value) {
  if (!isPlainObject(value) || !hasOwn(value, 'reply') || Object.keys(value).length !== 2) return false;
  return hasOwn(value, 'data') || (hasOwn(value, 'error') && typeof value.error === 'string');
}

/** Reports an exception thrown by a listener without breaking our own state. */
function rethrowLater(error) {
  setTimeout(function () { throw error; }, 0);
}

var DURATION_UNITS = {
  ms: 1, msec: 1, msecs: 1, millisecond: 1, milliseconds: 1,
  s: 1000, sec: 1000, secs: 1000, second: 1000, seconds: 1000,
  m: 60000, min: 60000, mins: 60000, minute: 60000, minutes: 60000,
  h: 3600000, hr: 3600000, hrs: 3600000, hour: 3600000, hours: 3600000,
  d: 86400000, day: 86400000, days: 86400000
};

/** A duration in ms from a number or a string such as `'500 ms'` or `'30 seconds'`. */
function duration(value, fallback) {
  if (typeof value === 'number') return isNaN(value) ? fallback : value;
  if (typeof value !== 'string') return fallback;
  var match = /^\s*(-?\d+(?:\.\d+)?|Infinity)\s*([a-z]*)\s*$/i.exec(value);
  if (!match) return fallback;
  var unit = match[2] ? DURATION_UNITS[match[2].toLowerCase()] : 1;
  if (!unit) return fallback;
  return Number(match[1]) * unit;
}

// The cache buster: the current time in base 64, with a `.n` suffix when
// several are made within one millisecond.
var ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_';
var lastStamp = '';
var stampSeed = 0;

function base64(number) {
  var text = '';
  do {
    text = ALPHABET.charAt(number % 64) + text;
    number = Math.floor(number / 64);
  } while (number > 0);
  return text;
}

function cacheBuster() {
  var stamp = base64(Date.now());
  if (stamp !== lastStamp) {
    lastStamp = stamp;
    stampSeed = 0;
    return stamp;
  }
  return stamp + '.' + base64(stampSeed++);
}

/**
 * The query of the connection URL: the user's pairs (first of duplicate keys
 * wins, `+` is a space) with `_primuscb` added last or replaced in place.
 */
function connectionQuery(search) {
  var keys = [];
  var values = {};
  var pairs = search.replace(/^\?/, '').split('&');
  for (var i = 0; i < pairs.length; i++) {
    if (!pairs[i]) continue;
    var at = pairs[i].indexOf('=');
    var key, value;
    try {
      key = decodeURIComponent((at < 0 ? pairs[i] : pairs[i].slice(0, at)).replace(/\+/g, ' '));
      value = at < 0 ? '' : decodeURIComponent(pairs[i].slice(at + 1).replace(/\+/g, ' '));
    } catch (e) {
      continue;
    }
    if (hasOwn(values, key)) continue;
    keys.push(key);
    values[key] = value;
  }
  if (!hasOwn(values, '_primuscb')) keys.push('_primuscb');
  values._primuscb = cacheBuster();
  var parts = [];
  for (var k = 0; k < keys.length; k++) {
    parts.push(encodeURIComponent(keys[k]) + '=' + encodeURIComponent(values[keys[k]]));
  }
  return parts.join('&');
}

/** The strategy option as a list of lower-cased names. */
function parseStrategy(strategy) {
  if (strategy === undefined || strategy === null || strategy === true) {
    return ['disconnect', 'online', 'timeout'];
  }
  if (!strategy) return [];
  var list = Array.isArray(strategy) ? strategy : String(strategy).split(',');
  var names = [];
  for (var i = 0; i < list.length; i++) {
    var name = String(list[i]).trim().toLowerCase();
    if (name && names.indexOf(name) < 0) names.push(name);
  }
  return names;
}

// ---------------------------------------------------------------------------
// EventEmitter
// ---------------------------------------------------------------------------

/** A minimal event emitter: on, once, off/removeListener, emit, removeAllListeners. */
function EventEmitter() {
  this._listeners = Object.create(null);
}

EventEmitter.prototype.on = function on(name, fn, context) {
  if (typeof fn !== 'function') throw new TypeError('The listener must be a function');
  var list = this._listeners[name] || (this._listeners[name] = []);
  list.push({ fn: fn, context: context, once: false });
  return this;
};
EventEmitter.prototype.addListener = EventEmitter.prototype.on;

EventEmitter.prototype.once = function once(name, fn, context) {
  this.on(name, fn, context);
  var list = this._listeners[name];
  list[list.length - 1].once = true;
  return this;
};

EventEmitter.prototype.off = function off(name, fn) {
  if (fn === undefined) return this.removeAllListeners(name);
  var list = this._listeners[name];
  if (!list) return this;
  var kept = [];
  for (var i = 0; i < list.length; i++) {
    if (list[i].fn !== fn) kept.push(list[i]);
  }
  if (kept.length) this._listeners[name] = kept;
  else delete this._listeners[name];
  return this;
};
EventEmitter.prototype.removeListener = EventEmitter.prototype.off;

EventEmitter.prototype.removeAllListeners = function removeAllListeners(name) {
  if (name === undefined) this._listeners = Object.create(null);
  else delete this._listeners[name];
  return this;
};

EventEmitter.prototype.listeners = function listeners(name) {
  var list = this._listeners[name] || [];
  var fns = [];
  for (var i = 0; i < list.length; i++) fns.push(list[i].fn);
  return fns;
};

EventEmitter.prototype.listenerCount = function listenerCount(name) {
  var list = this._listeners[name];
  return list ? list.length : 0;
};

/**
 * Calls every listener of `name` with the remaining arguments; true when
 * there was at least one. A listener that throws does not stop the others:
 * its exception is rethrown asynchronously (it shows in the console).
 */
EventEmitter.prototype.emit = function emit(name) {
  var list = this._listeners[name];
  if (!list || !list.length) return false;
  var args = Array.prototype.slice.call(arguments, 1);
  var snapshot = list.slice();
  var kept = [];
  for (var i = 0; i < list.length; i++) {
    if (!list[i].once) kept.push(list[i]);
  }
  if (kept.length !== list.length) {
    if (kept.length) this._listeners[name] = kept;
    else delete this._listeners[name];
  }
  for (var j = 0; j < snapshot.length; j++) {
    try {
      snapshot[j].fn.apply(snapshot[j].context === undefined ? this : snapshot[j].context, args);
    } catch (error) {
      rethrowLater(error);
    }
  }
  return true;
};

// ---------------------------------------------------------------------------
// Reconnection with exponential backoff
// ---------------------------------------------------------------------------

/**
 * The reconnect state machine. Attempt n waits `min` ms for n = 1, then
 * `min(round((random() + 1) * min * factor^(n-1)), max)`; after `retries`
 * failed attempts it gives up. Its events are emitted by the client.
 */
function Recovery(primus, options) {
  options = options || {};
  this.primus = primus;
  this.settings = {
    'reconnect timeout': duration(options['reconnect timeout'], 30000),
    retries: typeof options.retries === 'number' ? options.retries : 10,
    factor: typeof options.factor === 'number' ? options.factor : 2,
    max: duration(options.max, Infinity),
    min: duration(options.min, 500)
  };
  this.state = null;
  this.backoffTimer = null;
  this.attemptTimer = null;
}

/** True from the first scheduled attempt until success, give-up or reset. */
Recovery.prototype.reconnecting = function reconnecting() {
  return this.state !== null;
};

/** Schedules the next attempt (a no-op while one is already scheduled). */
Recovery.prototype.reconnect = function reconnect() {
  var state = this.state;
  if (state && state.backoff) return;
  if (!state) {
    var settings = this.settings;
    state = this.state = {
      'reconnect timeout': settings['reconnect timeout'],
      retries: settings.retries,
      factor: settings.factor,
      max: settings.max,
      min: settings.min,
      start: Date.now(),
      duration: 0,
      attempt: 0,
      backoff: false,
      scheduled: 0
    };
  }
  this.clearTimers();
  if (state.attempt >= state.retries) {
    this.state = null;
    this.primus._recoveryExhausted(new Error('Unable to recover'), state);
    return;
  }
  state.attempt++;
  state.backoff = true;
  state.scheduled = state.attempt === 1
    ? state.min
    : Math.min(Math.round((Math.random() + 1) * state.min * Math.pow(state.factor, state.attempt - 1)), state.max);
  state.duration = Date.now() - state.start;
  this.primus.emit('reconnect scheduled', state);

  var recovery = this;
  this.backoffTimer = setTimeout(function () {
    recovery.backoffTimer = null;
    if (recovery.state !== state) return;
    state.backoff = false;
    state.duration = Date.now() - state.start;
    recovery.attemptTimer = setTimeout(function () {
      recovery.attemptTimer = null;
      if (recovery.state !== state) return;
      recovery.primus.emit('reconnect timeout', new Error('Failed to reconnect in a timely manner'), state);
      if (recovery.state !== state) return;
      recovery.primus._abandonAttempt();
      recovery.failed();
    }, state['reconnect timeout']);
    recovery.primus._connect();
    if (recovery.state === state) recovery.primus.emit('reconnect', state);
  }, state.scheduled);
};

/** The current attempt failed: schedule the next one (or give up). */
Recovery.prototype.failed = function failed() {
  if (!this.state) return;
  this.state.duration = Date.now() - this.state.start;
  this.reconnect();
};

/** The current attempt connected: emits `reconnected` and resets. */
Recovery.prototype.succeeded = function succeeded() {
  var state = this.state;
  if (!state) return;
  this.clearTimers();
  this.state = null;
  state.backoff = false;
  state.duration = Date.now() - state.start;
  this.primus.emit('reconnected', state);
};

/** Forgets any reconnect in progress. */
Recovery.prototype.reset = function reset() {
  this.clearTimers();
  this.state = null;
};

Recovery.prototype.clearTimers = function clearTimers() {
  if (this.backoffTimer) clearTimeout(this.backoffTimer);
  if (this.attemptTimer) clearTimeout(this.attemptTimer);
  this.backoffTimer = this.attemptTimer = null;
};

// ---------------------------------------------------------------------------
// Primus
// ---------------------------------------------------------------------------

/** Events of the client itself; typed server events never use these names. */
var RESERVED = [
  'open', 'data', 'end', 'close', 'error', 'timeout', 'online', 'offline',
  'destroy', 'readyStateChange', 'resumed', 'not resumed'
];

function reserved(name) {
  return RESERVED.indexOf(name) >= 0 ||
    /^reconnect/.test(name) ||
    /^incoming::/.test(name) ||
    /^outgoing::/.test(name);
}

/**
 * A connection to a primus-rs (or Primus 8) server.
 *
 * `new Primus(url?, options?)`: `url` defaults to `location.origin`; only its
 * scheme, credentials, host, port and query are used, the path is always the
 * server's pathname.
 */
function Primus(url, options) {
  if (!(this instanceof Primus)) return new Primus(url, options);
  EventEmitter.call(this);

  if (url !== null && typeof url === 'object' && !(typeof URL !== 'undefined' && url instanceof URL)) {
    options = url;
    url = options.url || options.uri;
  }
  options = options || {};

  this.url = url ? String(url) : defaultUrl();
  this.options = {
    manual: !!options.manual,
    timeout: hasOwn(options, 'timeout') ? options.timeout : 10000,
    pingTimeout: hasOwn(options, 'pingTimeout') ? options.pingTimeout : COMPILED.pingTimeout,
    reconnect: options.reconnect || {},
    strategy: parseStrategy(options.strategy).join(','),
    queueSize: typeof options.queueSize === 'number' ? options.queueSize : Infinity,
    requestTimeout: typeof options.requestTimeout === 'number' ? options.requestTimeout : 10000,
    // For the engine.io and SockJS transports, as in Primus: `websockets:
    // false` keeps to polling, `transport` goes to the transport (SockJS
    // reads `transport.transports`).
    websockets: options.websockets !== false,
    transport: options.transport || {},
    // Ask the server for connection state recovery (primus-rs servers with
    // `recovery` on; others ignore the ask).
    resume: options.resume !== false
  };
  // The recoverable session: the server's token and how many messages
  // came after its greeting (null until the server gives one).
  this._session = null;
  this.readyState = Primus.CLOSED;
  this.buffer = [];
  this.online = !(typeof navigator !== 'undefined' && navigator && navigator.onLine === false);
  this.socket = null;
  this.recovery = new Recovery(this, this.options.reconnect);

  this._timers = {};
  this._pending = Object.create(null);
  this._requestSeq = 0;
  // Connections opened so far (requests remember the one they went out on).
  this._connections = 0;
  this._disconnect = false;
  this._userEnded = false;
  this._destroyed = false;

  this._listenToNetwork();

  for (var name in Primus.plugins) {
    if (hasOwn(Primus.plugins, name) && typeof Primus.plugins[name] === 'function') {
      Primus.plugins[name].call(this, this, options);
    }
  }

  if (!this.options.manual) {
    var primus = this;
    this._timers.open = setTimeout(function () {
      delete primus._timers.open;
      primus.open();
    }, 0);
  }
}

Primus.prototype = Object.create(EventEmitter.prototype);
Primus.prototype.constructor = Primus;

/** Connecting. */
Primus.OPENING = Primus.prototype.OPENING = 1;
/** Not connected. */
Primus.CLOSED = Primus.prototype.CLOSED = 2;
/** Connected. */
Primus.OPEN = Primus.prototype.OPEN = 3;

/** The Primus protocol version spoken. */
Primus.version = COMPILED.version;
/** The pathname of the server that served this client. */
Primus.pathname = COMPILED.pathname;
/** The minimal emitter the client is built on. */
Primus.EventEmitter = EventEmitter;
/** True for the names of the client's own events (not typed server events). */
Primus.reserved = reserved;

/** `Primus.connect(url, options)` is `new Primus(url, options)`. */
Primus.connect = function connect(url, options) {
  return new Primus(url, options);
};

function defaultUrl() {
  if (typeof location !== 'undefined' && location && location.origin && location.origin !== 'null') {
    return location.origin;
  }
  return 'http://127.0.0.1';
}

/** The WebSocket URL of the next connection (a fresh `_primuscb` each time). */
Primus.prototype.uri = function uri() {
  var base = typeof location !== 'undefined' && location && location.href ? location.href : 'http://127.0.0.1/';
  var parsed = new URL(this.url, base);
  var secure = parsed.protocol === 'https:' || parsed.protocol === 'wss:';
  var auth = '';
  if (parsed.username) auth = parsed.username + (parsed.password ? ':' + parsed.password : '') + '@';
  var query = connectionQuery(parsed.search);
  if (this.options.resume) {
    var ask = this._session ? this._session.token + '-' + this._session.seen : 'new';
    query += '&primus_recover=' + encodeURIComponent(ask);
  }
  return (secure ? 'wss' : 'ws') + '://' + auth + parsed.host + COMPILED.pathname + '?' + query;
};

// --- public API ------------------------------------------------------------

/** Connects (done automatically on a 0 ms timer unless `manual` is set). */
Primus.prototype.open = function open() {
  if (this._destroyed || this.readyState !== Primus.CLOSED) return this;
  this._clearTimer('open');
  this._userEnded = false;
  this.recovery.reset();
  var primus = this;
  if (this.options.timeout) {
    this._clearTimer('connect');
    this._timers.connect = setTimeout(function () {
      delete primus._timers.connect;
      primus._connectTimedOut();
    }, this.options.timeout);
  }
  this._connect();
  return this;
};

/**
 * Sends `data` JSON-encoded. While the connection is not open the value is
 * queued (the oldest is dropped past `queueSize`) and sent on open.
 * Always returns true.
 */
Primus.prototype.write = function write(data) {
  if (data === undefined) return true;
  return this._write(data);
};

/** Sends the typed event `{"event": event, "data": data}`. */
Primus.prototype.send = function send(event, data) {
  var message = { event: String(event) };
  if (data !== undefined) message.data = data;
  return this._write(message);
};

/**
 * Sends the typed request `{"event": event, "data": data, "request": n}` and
 * resolves with the reply's `data`. Rejects with an Error when the server
 * answers with an `error` (`code: 'REJECTED'`), after `options.timeout` ms
 * (default 10 s, `code: 'TIMEOUT'`), or when the connection it was sent on
 * closes or the client ends (`code: 'CLOSED'`).
 */
Primus.prototype.request = function request(event, data, options) {
  var primus = this;
  var id = ++this._requestSeq;
  var name = String(event);
  var message = { event: name };
  if (data !== undefined) message.data = data;
  message.request = id;
  var timeout = options && typeof options.timeout === 'number' ? options.timeout : this.options.requestTimeout;

  return new Promise(function (resolve, reject) {
    var entry = {
      event: name,
      resolve: resolve,
      reject: reject,
      sent: primus.readyState === Primus.OPEN,
      // The connection it went out on (see `_connections`).
      sentOn: primus.readyState === Primus.OPEN ? primus._connections : 0,
      timer: setTimeout(function () {
        delete primus._pending[id];
        reject(requestError('Request "' + name + '" timed out after ' + timeout + ' ms', 'TIMEOUT', name));
      }, timeout)
    };
    primus._pending[id] = entry;
    if (primus._destroyed) {
      primus._settleRequest(id, requestError('Request "' + name + '" failed: the client was destroyed', 'CLOSED', name));
      return;
    }
    primus._write(message);
  });
};

/**
 * Asks the server for this connection's spark id: `cb(id)` is called with
 * it; without a callback a Promise is returned.
 */
Primus.prototype.id = function id(cb) {
  if (typeof cb !== 'function') {
    var primus = this;
    return new Promise(function (resolve) { primus.id(resolve); });
  }
  this.once('incoming::id', cb);
  this._write(PREFIX + 'id::');
  return this;
};

/**
 * Closes the connection for good (writing `data` first when given): no
 * reconnect. Emits `close` and `end`, or only `end` when a reconnect was in
 * progress.
 */
Primus.prototype.end = function end(data) {
  this._userEnded = true;
  // Ended on purpose: the server does not keep the session either.
  this._session = null;
  return this._end(data);
};

/** `end()`, then frees everything and removes all listeners. */
Primus.prototype.destroy = function destroy() {
  if (this._destroyed) return this;
  this.end();
  this._destroyed = true;
  this._unlistenToNetwork();
  this.emit('destroy');
  this.removeAllListeners();
  return this;
};

/** (Re)arms the heartbeat timer: no ping within `pingTimeout` means offline. */
Primus.prototype.heartbeat = function heartbeat() {
  this._clearTimer('ping');
  var timeout = this.options.pingTimeout;
  if (!timeout || typeof timeout !== 'number') return this;
  var primus = this;
  this._timers.ping = setTimeout(function () {
    delete primus._timers.ping;
    primus._pingTimedOut();
  }, timeout);
  return this;
};

// --- internals: connection lifecycle ---------------------------------------

Primus.prototype._setReadyState = function setReadyState(state, name) {
  if (this.readyState === state) return;
  this.readyState = state;
  this.emit('readyStateChange', name);
};

Primus.prototype._clearTimer = function clearTimer(name) {
  if (this._timers[name]) clearTimeout(this._timers[name]);
  delete this._timers[name];
};

Primus.prototype._clearTimers = function clearTimers() {
  for (var name in this._timers) {
    if (hasOwn(this._timers, name)) clearTimeout(this._timers[name]);
  }
  this._timers = {};
};

Primus.prototype._strategy = function strategy(name) {
  return (',' + this.options.strategy + ',').indexOf(',' + name + ',') >= 0;
};

/** Opens a new WebSocket, dropping the previous one. */
Primus.prototype._connect = function connect() {
  this._dropSocket();
  this._setReadyState(Primus.OPENING, 'opening');
  var primus = this;
  var socket;
  try {
    socket = createSocket(this.uri(), this.options);
  } catch (error) {
    // A bad URL or no WebSocket at all: fail like a refused connection.
    var token = this.socket = {};
    setTimeout(function () {
      primus._onSocketError(token, error);
      primus._onSocketClose(token);
    }, 0);
    return;
  }
  socket.binaryType = 'arraybuffer';
  socket.onopen = function () { primus._onSocketOpen(socket); };
  socket.onmessage = function (event) { primus._onSocketMessage(socket, event.data); };
  socket.onerror = function () {
    primus._onSocketError(socket, new Error('WebSocket connection to ' + socket.url + ' failed'));
  };
  socket.onclose = function (event) { primus._onSocketClose(socket, event); };
  this.socket = socket;
};

/** Detaches and closes the current socket, if any. */
Primus.prototype._dropSocket = function dropSocket(code) {
  var socket = this.socket;
  this.socket = null;
  if (!socket || typeof socket.close !== 'function') return;
  socket.onopen = socket.onmessage = socket.onerror = socket.onclose = null;
  try {
    if (code === undefined) socket.close();
    else socket.close(code);
  } catch (e) {
    // Closing a socket that never connected may throw in old browsers.
  }
};

Primus.prototype._onSocketOpen = function onSocketOpen(socket) {
  if (socket !== this.socket) return;
  this._clearTimer('connect');
  if (this.recovery.reconnecting()) {
    this.recovery.succeeded();
    if (socket !== this.socket) return;
  }
  if (!this.online) {
    this.online = true;
    this.emit('online');
    if (socket !== this.socket) return;
  }
  this._setReadyState(Primus.OPEN, 'open');
  if (socket !== this.socket) return;
  this.heartbeat();

  var queued = this.buffer;
  this.buffer = [];
  for (var i = 0; i < queued.length; i++) this._send(queued[i]);
  this._connections++;
  for (var id in this._pending) {
    var entry = this._pending[id];
    if (!entry.sent) {
      entry.sent = true;
      entry.sentOn = this._connections;
    }
  }

  this.emit('open');
};

Primus.prototype._onSocketError = function onSocketError(socket, error) {
  if (socket !== this.socket) return;
  if (this.recovery.reconnecting()) return; // the close that follows counts the attempt as failed
  if (this.listenerCount('error')) this.emit('error', error);
};

Primus.prototype._onSocketClose = function onSocketClose(socket) {
  if (socket !== this.socket) return;
  this.socket = null;
  socket.onopen = socket.onmessage = socket.onerror = socket.onclose = null;

  if (this._disconnect) {
    // The server said `primus::server::close`: end without reconnecting.
    this._disconnect = false;
    this._shutdown();
    return;
  }
  if (this.readyState === Primus.OPEN) {
    this._connectionLost();
    return;
  }
  // The connection never opened.
  this._setReadyState(Primus.CLOSED, 'end');
  if (this.recovery.reconnecting()) {
    this.recovery.failed();
    return;
  }
  this._clearTimer('connect');
  if (this._strategy('timeout')) this.recovery.reconnect();
  else this._shutdown();
};

/** An open connection is gone (closed unexpectedly or heartbeat timeout). */
Primus.prototype._connectionLost = function connectionLost() {
  // A session the server keeps is left with a code that says so (a plain
  // close means the client left on purpose).
  this._dropSocket(this._session ? RESUMABLE_CLOSE_CODE : undefined);
  this._setReadyState(Primus.CLOSED, 'end');
  this._clearTimer('ping');
  this._clearTimer('connect');
  // A session the server keeps may still answer them once resumed.
  if (!this._session) this._failRequests(true, 'the connection closed before the reply');
  this.emit('close');
  if (this.readyState !== Primus.CLOSED || this._destroyed) return;
  if (this._userEnded) {
    // A `close` listener called end(): nothing more to reconnect.
    this._finish();
    return;
  }
  if (this._strategy('disconnect')) {
    this.recovery.reconnect();
  } else {
    this.emit('outgoing::end');
    this._finish();
  }
};

Primus.prototype._pingTimedOut = function pingTimedOut() {
  if (!this.online || this.readyState !== Primus.OPEN) return;
  this.online = false;
  this.emit('offline');
  if (this.readyState === Primus.OPEN) this._connectionLost();
};

Primus.prototype._connectTimedOut = function connectTimedOut() {
  if (this.readyState === Primus.OPEN || this.recovery.reconnecting()) return;
  this._dropSocket();
  this._setReadyState(Primus.CLOSED, 'end');
  this.emit('timeout');
  if (this.readyState !== Primus.CLOSED || this.recovery.reconnecting() || this._destroyed) return;
  if (this._strategy('timeout') && !this._userEnded) this.recovery.reconnect();
  else this._shutdown();
};

/** The reconnect attempt took too long: drop its socket. */
Primus.prototype._abandonAttempt = function abandonAttempt() {
  this._dropSocket();
  this._setReadyState(Primus.CLOSED, 'end');
};

Primus.prototype._recoveryExhausted = function recoveryExhausted(error, state) {
  this._dropSocket();
  this._setReadyState(Primus.CLOSED, 'end');
  this._clearTimers();
  this.buffer = [];
  this._finish();
  this.emit('reconnect failed', error, state);
};

Primus.prototype._end = function end(data) {
  if (this.readyState === Primus.CLOSED && !this._timers.connect && !this._timers.open) {
    if (this.recovery.reconnecting()) {
      this.recovery.reset();
      this.buffer = [];
      this._finish();
    }
    return this;
  }
  if (data !== undefined) this.write(data);
  this._shutdown();
  return this;
};

/** Closes everything and emits `close` and `end`. */
Primus.prototype._shutdown = function shutdown() {
  this._disconnect = false;
  this._setReadyState(Primus.CLOSED, 'end');
  this._clearTimers();
  this.recovery.reset();
  this._dropSocket();
  this.buffer = [];
  this.emit('outgoing::end');
  this.emit('close');
  this._finish();
};

/** Rejects every pending request and emits `end`. */
Primus.prototype._finish = function finish() {
  this._failRequests(false, 'the connection ended');
  this.emit('end');
};

// --- internals: network events (browsers only) -----------------------------

Primus.prototype._listenToNetwork = function listenToNetwork() {
  if (typeof window === 'undefined' || !window || typeof window.addEventListener !== 'function') return;
  var primus = this;
  this._networkHandlers = {
    offline: function () {
      if (!primus.online) return;
      primus.online = false;
      primus.emit('offline');
      primus._end();
    },
    online: function () {
      if (primus.online) return;
      primus.online = true;
      primus.emit('online');
      if (primus._strategy('online') && !primus._userEnded && !primus._destroyed &&
          primus.readyState === Primus.CLOSED) {
        primus.recovery.reconnect();
      }
    }
  };
  window.addEventListener('offline', this._networkHandlers.offline, false);
  window.addEventListener('online', this._networkHandlers.online, false);
};

Primus.prototype._unlistenToNetwork = function unlistenToNetwork() {
  if (!this._networkHandlers) return;
  window.removeEventListener('offline', this._networkHandlers.offline, false);
  window.removeEventListener('online', this._networkHandlers.online, false);
  this._networkHandlers = null;
};

// --- internals: messages ---------------------------------------------------

/** Queues while not open, otherwise encodes and sends (no transforms). */
Primus.prototype._write = function write(value) {
  if (this.readyState !== Primus.OPEN) {
    if (this.options.queueSize <= 0) return true;
    while (this.buffer.length >= this.options.queueSize) this.buffer.shift();
    this.buffer.push(value);
    return true;
  }
  this._send(value);
  return true;
};

Primus.prototype._send = function send(value) {
  var encoded;
  try {
    encoded = CODEC.encode(value);
  } catch (error) {
    this._emitError(new Error('Failed to encode outgoing data: ' + error.message));
    return;
  }
  if (encoded === undefined || !this.socket) return;
  try {
    this.socket.send(encoded);
  } catch (error) {
    this._emitError(error);
  }
};

Primus.prototype._emitError = function emitError(error) {
  if (this.listenerCount('error')) this.emit('error', error);
};

Primus.prototype._onSocketMessage = function onSocketMessage(socket, raw) {
  if (socket !== this.socket) return;
  // Recovery greetings are only the first message of a connection.
  this._firstMessage = socket._primusGreeted !== true;
  socket._primusGreeted = true;
  // The server numbers every message after its session greeting.
  if (this._session) this._session.seen++;
  var decoded;
  try {
    decoded = CODEC.decode(raw);
  } catch (error) {
    this._emitError(error);
    return;
  }
  if (decoded.binary) {
    this._deliver(raw, raw);
    return;
  }
  var data = decoded.value;
  if (typeof data === 'string' && data.indexOf(PREFIX) === 0 && this._control(data)) return;
  this._deliver(data, raw);
};

/** Handles a `primus::` control message; false when it is ordinary data. */
Primus.prototype._control = function control(message) {
  var colon = message.indexOf(':', PREFIX.length);
  if (colon < 0) return false;
  var type = message.slice(PREFIX.length, colon);
  var value = message.slice(colon + 2);
  switch (type) {
    case 'ping':
      var stamp = Number(value);
      this.emit('incoming::ping', stamp);
      this.heartbeat();
      this.emit('outgoing::pong', stamp);
      this._write(PREFIX + 'pong::' + String(stamp));
      return true;
    case 'server':
      if (value === 'close') this._disconnect = true;
      return true;
    case 'id':
      this.emit('incoming::id', value);
      return true;
    case 'recover':
      if (!this._firstMessage || !this.options.resume) return false;
      // A new session; if this client had one, it could not be resumed.
      var had = this._session !== null;
      this._session = { token: value, seen: 0 };
      if (had) {
        // Requests sent on earlier connections will not be answered.
        this._failRequests(true, 'the session could not be resumed', this._connections);
        this.emit('not resumed');
      }
      return true;
    case 'recovered':
      if (!this._firstMessage || !this.options.resume) return false;
      // The greeting itself is not counted; the missed messages follow.
      if (this._session) this._session.seen--;
      this.emit('resumed');
      return true;
    default:
      return false;
  }
};

/**
 * Answers the server's requests for `event` (`spark.request(..)` in Rust):
 * `handler(data)` returns the reply, or a promise of it; a throw or a
 * rejected promise answers with an error (its message). One handler per
 * event; a request for an event without one is refused at once.
 */
Primus.prototype.answer = function answer(event, handler) {
  if (typeof handler !== 'function') throw new TypeError('primus.answer needs a handler function');
  if (!this._answers) this._answers = {};
  this._answers[event] = handler;
  return this;
};

/** Answers a request from the server (a typed event with `request`). */
Primus.prototype._answer = function answerRequest(data) {
  var primus = this;
  var id = data.request;
  var handler = this._answers && hasOwn(this._answers, data.event) ? this._answers[data.event] : null;
  if (!handler) {
    this.write({ reply: id, error: 'no handler for event "' + data.event + '"' });
    return;
  }
  new Promise(function (resolve) { resolve(handler.call(primus, data.data)); }).then(
    function (value) { primus.write({ reply: id, data: value === undefined ? null : value }); },
    function (error) {
      var text = error && typeof error.message === 'string' ? error.message : String(error);
      primus.write({ reply: id, error: text });
    }
  );
};

/** Emits `data`, consuming replies to our requests and emitting typed events. */
Primus.prototype._deliver = function deliver(data, raw) {
  if (isReplyShape(data) && this._reply(data)) return;
  if (isPlainObject(data) && typeof data.event === 'string' && typeof data.request === 'number' &&
      Math.floor(data.request) === data.request && data.request > 0) {
    this._answer(data);
    return;
  }
  this.emit('data', data, raw);
  if (isPlainObject(data) && typeof data.event === 'string' && !reserved(data.event)) {
    this.emit(data.event, data.data);
  }
};

/** Settles the request a reply answers; false when it is not a reply to us. */
Primus.prototype._reply = function reply(message) {
  var id = message.reply;
  if (typeof id !== 'number' || Math.floor(id) !== id || id < 1 || id > this._requestSeq) return false;
  var entry = this._pending[id];
  if (!entry) return true; // a late reply to a request that timed out or failed
  if (message.error !== undefined && message.error !== null) {
    var text = typeof message.error === 'string' ? message.error : JSON.stringify(message.error);
    this._settleRequest(id, requestError(text, 'REJECTED', entry.event));
  } else {
    this._settleRequest(id, null, message.data);
  }
  return true;
};

Primus.prototype._settleRequest = function settleRequest(id, error, value) {
  var entry = this._pending[id];
  if (!entry) return;
  delete this._pending[id];
  clearTimeout(entry.timer);
  if (error) entry.reject(error);
  else entry.resolve(value);
};

/** Rejects pending requests (only those already sent when `onlySent`). */
Primus.prototype._failRequests = function failRequests(onlySent, why, sentBefore) {
  for (var id in this._pending) {
    var entry = this._pending[id];
    if (onlySent && !entry.sent) continue;
    if (sentBefore !== undefined && entry.sentOn >= sentBefore) continue;
    this._settleRequest(id, requestError('Request "' + entry.event + '" failed: ' + why, 'CLOSED', entry.event));
  }
};

function requestError(message, code, event) {
  var error = new Error(message);
  error.code = code;
  error.event = event;
  return error;
}

// ---------------------------------------------------------------------------
// Plugins
// ---------------------------------------------------------------------------

/**
 * Client parts of server plugins: `Primus.plugins[name] = function (primus,
 * options) {…}` runs inside every new client, after its initialisation.
 */
Primus.plugins = {};

// ---------------------------------------------------------------------------
// Transports: what carries the messages, chosen by the server's transformer.
// Each one looks like a WebSocket to the rest of the client: `send(text)`,
// `close()`, `url`, and the `onopen`, `onmessage({data})`, `onerror` and
// `onclose` callbacks.
// ---------------------------------------------------------------------------

/** The socket for the server's transformer (`COMPILED.transformer`). */
function createSocket(url, options) {
  if (COMPILED.transformer === 'engine.io') return new EngineIoSocket(url, options);
  if (COMPILED.transformer === 'sockjs') return new SockJsSocket(url, options);
  return new WebSocket(url);
}

function hasWebSocket() {
  return typeof WebSocket !== 'undefined' && !!WebSocket;
}

/** The http(s) URL of a ws(s) URL. */
function httpUrl(url) {
  var parsed = new URL(url);
  parsed.protocol = parsed.protocol === 'wss:' ? 'https:' : 'http:';
  return parsed;
}

function randomString(length, alphabet) {
  var out = '';
  for (var i = 0; i < length; i++) out += alphabet.charAt(Math.floor(Math.random() * alphabet.length));
  return out;
}

/** One XHR; `done(error, text)` once. Returns the request (to abort it). */
function request(method, url, body, done) {
  var xhr = new XMLHttpRequest();
  var finished = false;
  function finish(error, text) {
    if (finished) return;
    finished = true;
    done(error, text);
  }
  xhr.open(method, url, true);
  xhr.onload = function () {
    if (xhr.status >= 200 && xhr.status < 300) finish(null, xhr.responseText);
    else finish(new Error('xhr ' + method + ' failed with status ' + xhr.status), '');
  };
  xhr.onerror = function () { finish(new Error('xhr ' + method + ' failed'), ''); };
  if (body !== null) xhr.setRequestHeader('Content-Type', 'text/plain;charset=UTF-8');
  xhr.send(body);
  return xhr;
}

/** Shared by the transports: closes once, with or without an error. */
function failSocket(socket, error) {
  if (socket._closed) return;
  socket._closed = true;
  socket.readyState = 3;
  if (socket._stop) socket._stop();
  if (error && socket.onerror) socket.onerror(error);
  if (socket.onclose) socket.onclose({ code: error ? 1006 : 1000 });
}

/**
 * Engine.IO v4: a handshake over long polling, then the upgrade to a
 * WebSocket (`2probe`, `3probe`, `5`) unless `websockets: false` or the
 * page has no WebSocket. Binary messages are not sent (JSON only).
 */
function EngineIoSocket(url, options) {
  var base = httpUrl(url);
  if (base.pathname.charAt(base.pathname.length - 1) !== '/') base.pathname += '/';
  base.searchParams.set('EIO', '4');
  this.url = url;
  this.readyState = 0;
  this.onopen = this.onmessage = this.onerror = this.onclose = null;
  this._base = base;
  this._sid = null;
  this._out = [];
  this._posting = false;
  this._poll = null;
  this._ws = null;
  this._upgraded = false;
  this._upgradeReady = false;
  this._closed = false;
  this._mayUpgrade = options.websockets !== false && hasWebSocket();
  var socket = this;
  this._poll = request('GET', this._url('polling'), null, function (error, text) {
    socket._poll = null;
    if (error || text.charAt(0) !== '0') return failSocket(socket, error || new Error('engine.io: no open packet'));
    var open;
    try {
      open = JSON.parse(text.slice(1).split('\x1e')[0]);
    } catch (e) {
      return failSocket(socket, e);
    }
    socket._sid = open.sid;
    socket.readyState = 1;
    if (socket.onopen) socket.onopen();
    if (socket._closed) return;
    socket._polling();
    if (socket._mayUpgrade && open.upgrades && open.upgrades.indexOf('websocket') >= 0) socket._probe();
  });
}

EngineIoSocket.prototype._url = function (transport) {
  var parsed = new URL(this._base.href);
  parsed.searchParams.set('transport', transport);
  if (this._sid) parsed.searchParams.set('sid', this._sid);
  if (transport === 'websocket') parsed.protocol = parsed.protocol === 'https:' ? 'wss:' : 'ws:';
  else parsed.searchParams.set('t', Date.now().toString(36) + randomString(3, 'abcdefghijklmnopqrstuvwxyz'));
  return parsed.href;
};

EngineIoSocket.prototype._polling = function () {
  // Once the probe succeeded no new poll starts: the upgrade waits for the
  // one in flight, whose messages come before the WebSocket's.
  if (this._closed || this._upgraded || this._poll || this._upgradeReady) return;
  var socket = this;
  this._poll = request('GET', this._url('polling'), null, function (error, text) {
    socket._poll = null;
    // A poll that crossed the upgrade is refused: the WebSocket has it now.
    if (socket._closed || (error && socket._upgraded)) return;
    if (error) return failSocket(socket, error);
    socket._packets(text.split('\x1e'));
    if (socket._upgradeReady) return socket._completeUpgrade();
    socket._polling();
  });
};

EngineIoSocket.prototype._packets = function (packets) {
  for (var i = 0; i < packets.length && !this._closed; i++) {
    var packet = packets[i];
    var type = packet.charAt(0);
    if (type === '4') {
      if (this.onmessage) this.onmessage({ data: packet.slice(1) });
    } else if (type === '2') {
      this._packet('3' + packet.slice(1));
    } else if (type === '1') {
      failSocket(this, null);
    }
  }
};

EngineIoSocket.prototype.send = function (text) {
  this._packet('4' + text);
};

EngineIoSocket.prototype._packet = function (packet) {
  if (this._closed) return;
  if (this._upgraded) {
    this._ws.send(packet);
    return;
  }
  this._out.push(packet);
  this._post();
};

/** One POST at a time, carrying every packet queued meanwhile. */
EngineIoSocket.prototype._post = function () {
  if (this._posting || this._closed || !this._out.length) return;
  var body = this._out.join('\x1e');
  this._out = [];
  this._posting = true;
  var socket = this;
  request('POST', this._url('polling'), body, function (error) {
    socket._posting = false;
    if (socket._closed) return;
    if (error) return failSocket(socket, error);
    if (socket._upgradeReady) return socket._completeUpgrade();
    socket._post();
  });
};

EngineIoSocket.prototype._probe = function () {
  var socket = this;
  var ws = new WebSocket(this._url('websocket'));
  this._ws = ws;
  ws.onopen = function () { ws.send('2probe'); };
  ws.onmessage = function (event) {
    if (socket._closed) return;
    if (!socket._upgraded) {
      if (event.data === '3probe') {
        // The server answers the pending poll with a noop now; the upgrade
        // completes once it and any POST in flight are back.
        socket._upgradeReady = true;
        socket._completeUpgrade();
      }
      return;
    }
    if (typeof event.data === 'string') socket._packets([event.data]);
  };
  ws.onclose = function () {
    if (socket._upgraded) return failSocket(socket, new Error('engine.io websocket closed'));
    // The probe failed: polling goes on, and so do the POSTs it held back.
    socket._ws = null;
    socket._upgradeReady = false;
    socket._post();
    socket._polling();
  };
  ws.onerror = function () {};
};

/**
 * After `3probe`, once neither a POST nor a poll is in flight: what they
 * carry comes before anything on the WebSocket, both ways (as
 * engine.io-client pauses polling before it sends `5`).
 */
EngineIoSocket.prototype._completeUpgrade = function () {
  if (this._upgraded || this._closed || !this._ws || this._posting || this._poll) return;
  this._upgraded = true;
  this._ws.send('5');
  var queued = this._out;
  this._out = [];
  for (var i = 0; i < queued.length; i++) this._ws.send(queued[i]);
};

EngineIoSocket.prototype._stop = function () {
  if (this._poll) this._poll.abort();
  this._poll = null;
  if (this._ws) {
    this._ws.onopen = this._ws.onmessage = this._ws.onclose = this._ws.onerror = null;
    try { this._ws.close(); } catch (e) { /* never opened */ }
  }
};

EngineIoSocket.prototype.close = function () {
  if (this._closed) return;
  if (this._sid) {
    if (this._upgraded && this._ws) this._ws.send('1');
    else request('POST', this._url('polling'), '1', function () {});
  }
  this._closed = true;
  this.readyState = 3;
  this._stop();
};

/**
 * SockJS: a session under `<pathname>/<server>/<session>/`, over its
 * `websocket`, `xhr-streaming` or `xhr-polling` transport, tried in that
 * order (or as `transport: {transports: [...]}` says, as sockjs-client).
 */
function SockJsSocket(url, options) {
  var base = httpUrl(url);
  var path = base.pathname.replace(/\/$/, '');
  var session = path + '/' + randomString(3, '0123456789') + '/' + randomString(8, 'abcdefghijklmnopqrstuvwxyz012345');
  var wanted = (options.transport && options.transport.transports) || ['websocket', 'xhr-streaming', 'xhr-polling'];
  this.url = url;
  this.readyState = 0;
  this.onopen = this.onmessage = this.onerror = this.onclose = null;
  this._session = new URL(session + base.search, base.href);
  this._transports = [];
  for (var i = 0; i < wanted.length; i++) {
    var name = wanted[i];
    if (name === 'websocket' && (options.websockets === false || !hasWebSocket())) continue;
    if (name === 'websocket' || name === 'xhr-streaming' || name === 'xhr-polling') this._transports.push(name);
  }
  this._out = [];
  this._posting = false;
  this._receiving = null;
  this._ws = null;
  this._opened = false;
  this._closed = false;
  this._try(0);
}

SockJsSocket.prototype._url = function (transport) {
  var parsed = new URL(this._session.href);
  parsed.pathname += '/' + transport;
  if (transport === 'websocket') parsed.protocol = parsed.protocol === 'https:' ? 'wss:' : 'ws:';
  return parsed.href;
};

/** Tries transport `index`; the next one if it closes before `o`. */
SockJsSocket.prototype._try = function (index) {
  if (this._closed) return;
  var name = this._transports[index];
  var socket = this;
  var next = function (error) {
    if (socket._opened) return failSocket(socket, error);
    socket._try(index + 1);
  };
  if (!name) return failSocket(this, new Error('sockjs: no transport could connect'));
  this._transport = name;
  if (name === 'websocket') {
    var ws = new WebSocket(this._url('websocket'));
    this._ws = ws;
    ws.onmessage = function (event) { socket._frame(event.data); };
    ws.onclose = function () {
      socket._ws = null;
      next(socket._opened ? new Error('sockjs websocket closed') : null);
    };
    ws.onerror = function () {};
  } else {
    this._receive(name === 'xhr-streaming' ? 'xhr_streaming' : 'xhr', next);
  }
};

/** A receiving request; the next one when it ends. */
SockJsSocket.prototype._receive = function (endpoint, next) {
  if (this._closed) return;
  var socket = this;
  var xhr = new XMLHttpRequest();
  var seen = 0;
  var parse = function () {
    var text = xhr.responseText || '';
    var end;
    while ((end = text.indexOf('\n', seen)) >= 0) {
      var frame = text.slice(seen, end);
      seen = end + 1;
      socket._frame(frame);
      if (socket._closed) return;
    }
  };
  xhr.open('POST', this._url(endpoint), true);
  xhr.onprogress = parse;
  xhr.onload = function () {
    socket._receiving = null;
    if (socket._closed) return;
    if (xhr.status !== 200) return next(new Error('sockjs ' + endpoint + ' failed with status ' + xhr.status));
    parse();
    if (!socket._closed) socket._receive(endpoint, next);
  };
  xhr.onerror = function () {
    socket._receiving = null;
    if (!socket._closed) next(new Error('sockjs ' + endpoint + ' failed'));
  };
  this._receiving = xhr;
  xhr.send(null);
};

SockJsSocket.prototype._frame = function (frame) {
  if (this._closed || !frame) return;
  var type = frame.charAt(0);
  if (type === 'o') {
    // A second `o`: the server lost the session and made a new one under
    // its id (as sockjs-client: close, so Primus reconnects).
    if (this._opened) return failSocket(this, new Error('Server lost session'));
    this._opened = true;
    this.readyState = 1;
    if (this.onopen) this.onopen();
    this._post();
  } else if (type === 'a') {
    var messages;
    try {
      messages = JSON.parse(frame.slice(1));
    } catch (e) {
      return;
    }
    for (var i = 0; i < messages.length && !this._closed; i++) {
      if (this.onmessage) this.onmessage({ data: messages[i] });
    }
  } else if (type === 'c') {
    failSocket(this, null);
  }
};

SockJsSocket.prototype.send = function (text) {
  if (this._closed) return;
  if (this._ws && this._transport === 'websocket') {
    this._ws.send(JSON.stringify([text]));
    return;
  }
  this._out.push(text);
  this._post();
};

/** One `xhr_send` at a time, carrying every message queued meanwhile. */
SockJsSocket.prototype._post = function () {
  if (this._posting || this._closed || !this._opened || !this._out.length) return;
  var body = JSON.stringify(this._out);
  this._out = [];
  this._posting = true;
  var socket = this;
  request('POST', this._url('xhr_send'), body, function (error) {
    socket._posting = false;
    if (socket._closed) return;
    if (error) return failSocket(socket, error);
    socket._post();
  });
};

SockJsSocket.prototype._stop = function () {
  if (this._receiving) this._receiving.abort();
  this._receiving = null;
  if (this._ws) {
    this._ws.onmessage = this._ws.onclose = this._ws.onerror = null;
    try { this._ws.close(); } catch (e) { /* never opened */ }
  }
};

SockJsSocket.prototype.close = function () {
  if (this._closed) return;
  this._closed = true;
  this.readyState = 3;
  this._stop();
};

// primus-rs:plugins (the server inserts the browser parts of plugins here)

// primus-rs:body:end
return Primus;
}));
